// cgroup v2 has no devices.allow/devices.deny: device access is decided by eBPF programs of
// type BPF_PROG_TYPE_CGROUP_DEVICE attached to the cgroup. This file emits that program
// from OCI device rules (raw struct bpf_insn, no libbpf), loads it, attaches it with
// BPF_F_ALLOW_MULTI and, on update, detaches the programs attached before — after the new
// one is in, so the cgroup is never without a filter.
//
// Program semantics: the last rule that matches a request decides (blocks are emitted in
// reverse rule order, the first match returns); no match denies. A rule matches when the
// device type (unless "a"), major and minor (unless -1) are equal, and
//   allow: every requested access bit is in the rule's access (v1's subset check);
//   deny:  any requested access bit is in the rule's access.
// Context (struct bpf_cgroup_dev_ctx): access_type = (BPF_DEVCG_ACC_* << 16) | BPF_DEVCG_DEV_*,
// major, minor. Return 1 allows, 0 denies (the kernel turns 0 into EPERM).
#include "devices_bpf.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stddef.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <vector>

#include "fd.h"

namespace tsoci {
namespace {

struct Rule {
  bool allow = false;
  uint32_t type = 0;  // 0 = any, else BPF_DEVCG_DEV_*
  int64_t major = -1;  // -1 = any
  int64_t minor = -1;
  uint32_t access = 0;  // BPF_DEVCG_ACC_* bits
};

struct Failure {
  std::string step;     // rules, open, load, query, attach, detach
  std::string call;     // the system call that failed ("" for rule errors)
  std::string message;  // rule errors: what is wrong; else the verifier log, if any
  int err = EINVAL;
};

constexpr uint32_t kAllAccess = BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE;
constexpr size_t kMaxRules = 65536;  // 8 instructions each at most: well below the 1M limit
constexpr uint8_t kCtx = BPF_REG_1, kAcc = BPF_REG_2, kType = BPF_REG_3, kMajor = BPF_REG_4,
                  kMinor = BPF_REG_5, kTmp = BPF_REG_6;

// ---- instructions

bpf_insn Insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  bpf_insn i;
  memset(&i, 0, sizeof(i));
  i.code = code;
  i.dst_reg = dst;
  i.src_reg = src;
  i.off = off;
  i.imm = imm;
  return i;
}
bpf_insn LoadCtxWord(uint8_t dst, size_t off) {
  return Insn(BPF_LDX | BPF_MEM | BPF_W, dst, kCtx, static_cast<int16_t>(off), 0);
}
bpf_insn Alu32(uint8_t op, uint8_t dst, uint32_t imm) {
  return Insn(BPF_ALU | op | BPF_K, dst, 0, 0, static_cast<int32_t>(imm));
}
bpf_insn Mov32(uint8_t dst, uint8_t src) { return Insn(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0); }
// 32-bit compare with an immediate: any u32 major/minor compares exactly. Offset patched later.
bpf_insn Jump32(uint8_t op, uint8_t reg, uint32_t imm) {
  return Insn(BPF_JMP32 | op | BPF_K, reg, 0, 0, static_cast<int32_t>(imm));
}

// Appends one rule's block. Returns false when the block matches every request: nothing
// after it could run (and the verifier refuses unreachable instructions).
bool EmitRule(const Rule& r, std::vector<bpf_insn>& prog) {
  std::vector<size_t> skips;  // jumps to the next block
  auto skipIf = [&](uint8_t op, uint8_t reg, uint32_t imm) {
    skips.push_back(prog.size());
    prog.push_back(Jump32(op, reg, imm));
  };
  if (r.type) skipIf(BPF_JNE, kType, r.type);
  if (r.major >= 0) skipIf(BPF_JNE, kMajor, static_cast<uint32_t>(r.major));
  if (r.minor >= 0) skipIf(BPF_JNE, kMinor, static_cast<uint32_t>(r.minor));
  if (r.access != kAllAccess) {
    if (r.allow) {
      skipIf(BPF_JSET, kAcc, ~r.access & kAllAccess);  // a requested bit the rule lacks
    } else {
      prog.push_back(Mov32(kTmp, kAcc));
      prog.push_back(Alu32(BPF_AND, kTmp, r.access));
      skipIf(BPF_JEQ, kTmp, 0);  // no requested bit is denied
    }
  }
  prog.push_back(Insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, r.allow ? 1 : 0));
  prog.push_back(Insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
  for (size_t i : skips) prog[i].off = static_cast<int16_t>(prog.size() - i - 1);
  return !skips.empty();
}

std::vector<bpf_insn> BuildProgram(const std::vector<Rule>& rules) {
  std::vector<bpf_insn> prog = {
      LoadCtxWord(kAcc, offsetof(bpf_cgroup_dev_ctx, access_type)),
      Mov32(kType, kAcc),
      Alu32(BPF_AND, kType, 0xffff),
      Alu32(BPF_RSH, kAcc, 16),
      LoadCtxWord(kMajor, offsetof(bpf_cgroup_dev_ctx, major)),
      LoadCtxWord(kMinor, offsetof(bpf_cgroup_dev_ctx, minor)),
  };
  bool reachable = true;
  for (size_t i = rules.size(); i-- > 0 && reachable;) reachable = EmitRule(rules[i], prog);
  if (reachable) {  // no rule matched: deny
    prog.push_back(Insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0));
    prog.push_back(Insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
  }
  return prog;
}

// ---- rules from JS

bool RuleError(Failure& f, const std::string& message) {
  f = {"rules", "", message, EINVAL};
  return false;
}

bool GetDeviceNumber(const Napi::Object& o, const char* key, int64_t& out) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return (out = -1), true;
  if (!v.IsNumber()) return false;
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= -1 && d <= 4294967295.0) || d != static_cast<double>(static_cast<int64_t>(d))) return false;
  out = static_cast<int64_t>(d);
  return true;
}

bool ParseRules(const Napi::Value& v, std::vector<Rule>& out, Failure& f) {
  if (!v.IsArray()) return RuleError(f, "device rules must be an array");
  Napi::Array a = v.As<Napi::Array>();
  if (a.Length() > kMaxRules) return RuleError(f, std::to_string(a.Length()) + " device rules: at most " + std::to_string(kMaxRules) + " fit in one program");
  for (uint32_t i = 0; i < a.Length(); i++) {
    std::string at = "rule " + std::to_string(i);
    Napi::Value rv = a.Get(i);
    if (!rv.IsObject()) return RuleError(f, at + ": not an object");
    Napi::Object o = rv.As<Napi::Object>();
    Rule r;
    Napi::Value allow = o.Get("allow");
    if (!allow.IsBoolean()) return RuleError(f, at + ": allow must be a boolean");
    r.allow = allow.As<Napi::Boolean>().Value();
    Napi::Value tv = o.Get("type");
    std::string type = tv.IsString() ? tv.As<Napi::String>().Utf8Value() : "?";
    if (type == "b") r.type = BPF_DEVCG_DEV_BLOCK;
    else if (type == "c") r.type = BPF_DEVCG_DEV_CHAR;
    else if (type != "a") return RuleError(f, at + ": device type \"" + type + "\" cannot be expressed (a, b or c)");
    if (!GetDeviceNumber(o, "major", r.major)) return RuleError(f, at + ": major must be -1 (any) or 0..4294967295");
    if (!GetDeviceNumber(o, "minor", r.minor)) return RuleError(f, at + ": minor must be -1 (any) or 0..4294967295");
    Napi::Value av = o.Get("access");
    std::string access = av.IsString() ? av.As<Napi::String>().Utf8Value() : "";
    for (char c : access) {
      if (c == 'r') r.access |= BPF_DEVCG_ACC_READ;
      else if (c == 'w') r.access |= BPF_DEVCG_ACC_WRITE;
      else if (c == 'm') r.access |= BPF_DEVCG_ACC_MKNOD;
      else return RuleError(f, at + ": access \"" + access + "\" is not a subset of \"rwm\"");
    }
    if (!r.access) return RuleError(f, at + ": access must not be empty");
    out.push_back(r);
  }
  return true;
}

// ---- kernel

long Bpf(int cmd, bpf_attr& attr) { return syscall(__NR_bpf, cmd, &attr, sizeof(attr)); }
uint64_t Ptr(const void* p) { return reinterpret_cast<uintptr_t>(p); }
bool SysError(Failure& f, const char* step, const std::string& call, int err) {
  f = {step, call, "", err};
  return false;
}

bool OpenCgroup(const std::string& path, Fd& out, Failure& f) {
  out.reset(open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  return out.valid() || SysError(f, "open", "open", errno);
}

long LoadOnce(const std::vector<bpf_insn>& prog, std::string* log) {
  static const char kLicense[] = "Apache";
  bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  attr.insns = Ptr(prog.data());
  attr.insn_cnt = static_cast<uint32_t>(prog.size());
  attr.license = Ptr(kLicense);
  strncpy(attr.prog_name, "tsoci_devices", sizeof(attr.prog_name) - 1);
  if (log) {
    attr.log_level = 1;
    attr.log_buf = Ptr(log->data());
    attr.log_size = static_cast<uint32_t>(log->size());
  }
  long fd;
  int tries = 0;
  do fd = Bpf(BPF_PROG_LOAD, attr);
  while (fd < 0 && (errno == EINTR || errno == EAGAIN) && ++tries < 5);
  return fd;
}

// Loads without a log first (cheap); on failure loads again with the verifier's log.
bool Load(const std::vector<bpf_insn>& prog, Fd& out, Failure& f) {
  long fd = LoadOnce(prog, nullptr);
  if (fd >= 0) return out.reset(static_cast<int>(fd)), true;
  SysError(f, "load", "bpf(BPF_PROG_LOAD)", errno);
  std::string log(1 << 16, '\0');
  fd = LoadOnce(prog, &log);
  if (fd >= 0) return out.reset(static_cast<int>(fd)), true;
  log.resize(strnlen(log.data(), log.size()));
  while (!log.empty() && (log.back() == '\n' || log.back() == ' ')) log.pop_back();
  if (log.size() > 2000) log = "…" + log.substr(log.size() - 2000);
  for (char c : log) f.message += c == '\n' ? std::string("; ") : std::string(1, c);
  return false;
}

bool Query(int cg, std::vector<uint32_t>& ids, uint32_t& flags, Failure& f) {
  ids.assign(16, 0);
  for (;;) {
    bpf_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.query.target_fd = cg;
    attr.query.attach_type = BPF_CGROUP_DEVICE;
    attr.query.prog_ids = Ptr(ids.data());
    attr.query.prog_cnt = static_cast<uint32_t>(ids.size());
    if (Bpf(BPF_PROG_QUERY, attr) == 0) {
      ids.resize(attr.query.prog_cnt);
      flags = attr.query.attach_flags;
      return true;
    }
    if (errno == ENOSPC && attr.query.prog_cnt > ids.size()) {
      ids.assign(attr.query.prog_cnt, 0);
      continue;
    }
    return SysError(f, "query", "bpf(BPF_PROG_QUERY)", errno);
  }
}

bool Attach(int cg, int prog, uint32_t flags, Failure& f) {
  bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.target_fd = cg;
  attr.attach_bpf_fd = prog;
  attr.attach_type = BPF_CGROUP_DEVICE;
  attr.attach_flags = flags;
  return Bpf(BPF_PROG_ATTACH, attr) == 0 || SysError(f, "attach", "bpf(BPF_PROG_ATTACH)", errno);
}

// A program that is already gone (detached by someone else meanwhile) is not an error.
bool DetachById(int cg, uint32_t id, Failure& f) {
  bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.prog_id = id;
  Fd prog(static_cast<int>(Bpf(BPF_PROG_GET_FD_BY_ID, attr)));
  std::string which = " of program " + std::to_string(id);
  if (!prog) return errno == ENOENT || SysError(f, "detach", "bpf(BPF_PROG_GET_FD_BY_ID)" + which, errno);
  memset(&attr, 0, sizeof(attr));
  attr.target_fd = cg;
  attr.attach_bpf_fd = prog.get();
  attr.attach_type = BPF_CGROUP_DEVICE;
  if (Bpf(BPF_PROG_DETACH, attr) == 0 || errno == ENOENT) return true;
  return SysError(f, "detach", "bpf(BPF_PROG_DETACH)" + which, errno);
}

uint32_t ProgramId(int prog) {
  bpf_prog_info info;
  memset(&info, 0, sizeof(info));
  bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.info.bpf_fd = prog;
  attr.info.info_len = sizeof(info);
  attr.info.info = Ptr(&info);
  return Bpf(BPF_OBJ_GET_INFO_BY_FD, attr) == 0 ? info.id : 0;
}

// ---- N-API

Napi::Value FailureResult(Napi::Env env, const Failure& f, const std::string& path) {
  Napi::Object o = Napi::Object::New(env);
  std::string error = f.call.empty() ? f.message : f.call + ": " + strerror(f.err);
  if (!f.call.empty() && !f.message.empty()) error += "; verifier log: " + f.message;
  o.Set("error", error);
  o.Set("errno", f.err);
  o.Set("step", f.step);
  if (!f.call.empty()) o.Set("call", f.call);
  if (!f.call.empty() && !f.message.empty()) o.Set("log", f.message);
  if (!path.empty()) o.Set("path", path);
  return o;
}

Napi::Array Ids(Napi::Env env, const std::vector<uint32_t>& ids) {
  Napi::Array a = Napi::Array::New(env, ids.size());
  for (size_t i = 0; i < ids.size(); i++) a.Set(static_cast<uint32_t>(i), ids[i]);
  return a;
}

bool PathArg(const Napi::CallbackInfo& info, std::string& path, Failure& f) {
  if (info.Length() < 1 || !info[0].IsString()) return RuleError(f, "the cgroup path must be a string");
  path = info[0].As<Napi::String>().Utf8Value();
  return true;
}

Napi::Value DeviceFilterProgram(const Napi::CallbackInfo& info) {
  std::vector<Rule> rules;
  Failure f;
  if (!ParseRules(info[0], rules, f)) return FailureResult(info.Env(), f, "");
  std::vector<bpf_insn> prog = BuildProgram(rules);
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("insns", Napi::Buffer<uint8_t>::Copy(info.Env(), reinterpret_cast<const uint8_t*>(prog.data()), prog.size() * sizeof(bpf_insn)));
  return o;
}

Napi::Value DeviceFilterApply(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path;
  std::vector<Rule> rules;
  Failure f;
  if (!PathArg(info, path, f) || !ParseRules(info[1], rules, f)) return FailureResult(env, f, path);
  Fd cg, prog;
  std::vector<uint32_t> old;
  uint32_t oldFlags = 0;
  if (!OpenCgroup(path, cg, f) || !Load(BuildProgram(rules), prog, f) || !Query(cg.get(), old, oldFlags, f)) {
    return FailureResult(env, f, path);
  }
  // Programs attached without BPF_F_ALLOW_MULTI (not by us) refuse a multi attach; attaching
  // with their flags replaces the single program in place instead.
  bool multi = old.empty() || (oldFlags & BPF_F_ALLOW_MULTI);
  if (!Attach(cg.get(), prog.get(), multi ? BPF_F_ALLOW_MULTI : oldFlags, f)) return FailureResult(env, f, path);
  if (multi) {
    for (uint32_t id : old) if (!DetachById(cg.get(), id, f)) return FailureResult(env, f, path);
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("progId", ProgramId(prog.get()));
  o.Set("replaced", Ids(env, old));
  return o;
}

Napi::Value DeviceFilterQuery(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path;
  Failure f;
  Fd cg;
  std::vector<uint32_t> ids;
  uint32_t flags = 0;
  if (!PathArg(info, path, f) || !OpenCgroup(path, cg, f) || !Query(cg.get(), ids, flags, f)) return FailureResult(env, f, path);
  Napi::Object o = Napi::Object::New(env);
  o.Set("ids", Ids(env, ids));
  o.Set("attachFlags", flags);
  return o;
}

}  // namespace

void RegisterDevicesBpf(Napi::Env env, Napi::Object exports) {
  exports.Set("deviceFilterProgram", Napi::Function::New(env, DeviceFilterProgram));
  exports.Set("deviceFilterApply", Napi::Function::New(env, DeviceFilterApply));
  exports.Set("deviceFilterQuery", Napi::Function::New(env, DeviceFilterQuery));
}

}  // namespace tsoci
