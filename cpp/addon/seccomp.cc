// Compiles a seccomp profile into classic BPF with libseccomp (seccomp_export_bpf).
// tsoci-init only loads the result; nothing of libseccomp runs in the container.
//
// Input (a plain JS object, built by src/seccomp/profile.ts):
//   { defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet?: number,
//     architectures: ["SCMP_ARCH_X86_64", ...],
//     syscalls: [{ names: [...], action, errnoRet?, args: [{index, value, valueTwo, op}] }] }
// value/valueTwo are BigInt (or safe-integer Numbers). Output: {bpf: Buffer} (an array of
// struct sock_filter) or {error: "syscalls[3].action: ...", errno}. Never throws.
#include "seccomp.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cstdint>
#include <string>
#include <vector>

#include "fd.h"
#include "seccomp_enosys.h"

#ifdef HAVE_SECCOMP
#include <seccomp.h>
#endif

namespace tsoci {
namespace {

struct Error {
  std::string message;
  int err = EINVAL;
};

Napi::Value ErrorResult(Napi::Env env, const Error& e) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("error", e.message);
  o.Set("errno", e.err);
  return o;
}

#ifdef HAVE_SECCOMP

// seccomp_release on scope exit.
class Filter {
 public:
  explicit Filter(scmp_filter_ctx ctx) : ctx_(ctx) {}
  ~Filter() {
    if (ctx_) seccomp_release(ctx_);
  }
  Filter(const Filter&) = delete;
  Filter& operator=(const Filter&) = delete;
  scmp_filter_ctx get() const { return ctx_; }

 private:
  scmp_filter_ctx ctx_;
};

bool GetString(const Napi::Object& o, const char* key, std::string& out) {
  Napi::Value v = o.Get(key);
  if (!v.IsString()) return false;
  out = v.As<Napi::String>().Utf8Value();
  return true;
}

// An optional non-negative integer; false when present but not one.
bool GetOptionalUint(const Napi::Object& o, const char* key, bool& present, uint32_t& out) {
  Napi::Value v = o.Get(key);
  present = !(v.IsUndefined() || v.IsNull());
  if (!present) return true;
  if (!v.IsNumber()) return false;
  double d = v.As<Napi::Number>().DoubleValue();
  if (d < 0 || d > 4294967295.0 || d != static_cast<double>(static_cast<uint64_t>(d))) return false;
  out = static_cast<uint32_t>(d);
  return true;
}

bool GetUint64(const Napi::Value& v, uint64_t& out) {
  if (v.IsBigInt()) {
    bool lossless = false;
    out = v.As<Napi::BigInt>().Uint64Value(&lossless);
    return lossless;
  }
  if (v.IsNumber()) {
    double d = v.As<Napi::Number>().DoubleValue();
    if (d < 0 || d > 9007199254740991.0 || d != static_cast<double>(static_cast<uint64_t>(d))) return false;
    out = static_cast<uint64_t>(d);
    return true;
  }
  if (v.IsUndefined() || v.IsNull()) {
    out = 0;
    return true;
  }
  return false;
}

// runc's getAction: ERRNO and TRACE default to EPERM; KILL is KILL_THREAD.
bool Action(const std::string& name, bool hasErrno, uint32_t errnoRet, uint32_t& out) {
  uint32_t code = hasErrno ? errnoRet : EPERM;
  if (name == "SCMP_ACT_ALLOW") out = SCMP_ACT_ALLOW;
  else if (name == "SCMP_ACT_ERRNO") out = SCMP_ACT_ERRNO(code);
  else if (name == "SCMP_ACT_KILL" || name == "SCMP_ACT_KILL_THREAD") out = SCMP_ACT_KILL_THREAD;
  else if (name == "SCMP_ACT_KILL_PROCESS") out = SCMP_ACT_KILL_PROCESS;
  else if (name == "SCMP_ACT_TRAP") out = SCMP_ACT_TRAP;
  else if (name == "SCMP_ACT_TRACE") out = SCMP_ACT_TRACE(code);
  else if (name == "SCMP_ACT_LOG") out = SCMP_ACT_LOG;
  else if (name == "SCMP_ACT_NOTIFY") out = SCMP_ACT_NOTIFY;
  else return false;
  return true;
}

bool Operator(const std::string& name, scmp_compare& out) {
  if (name == "SCMP_CMP_NE") out = SCMP_CMP_NE;
  else if (name == "SCMP_CMP_LT") out = SCMP_CMP_LT;
  else if (name == "SCMP_CMP_LE") out = SCMP_CMP_LE;
  else if (name == "SCMP_CMP_EQ") out = SCMP_CMP_EQ;
  else if (name == "SCMP_CMP_GE") out = SCMP_CMP_GE;
  else if (name == "SCMP_CMP_GT") out = SCMP_CMP_GT;
  else if (name == "SCMP_CMP_MASKED_EQ") out = SCMP_CMP_MASKED_EQ;
  else return false;
  return true;
}

// "SCMP_ARCH_X86_64" -> libseccomp's "x86_64"; 0 when this libseccomp does not know it.
uint32_t Arch(const std::string& name) {
  const std::string prefix = "SCMP_ARCH_";
  if (name.compare(0, prefix.size(), prefix) != 0) return 0;
  std::string lower;
  for (size_t i = prefix.size(); i < name.size(); i++)
    lower += static_cast<char>(tolower(static_cast<unsigned char>(name[i])));
  return seccomp_arch_resolve_name(lower.c_str());
}

std::string Field(size_t i, const char* rest) { return "syscalls[" + std::to_string(i) + "]" + rest; }

// One rule of the profile (all its names). runc's matchCall: a rule whose action is the
// default is skipped; unknown names are skipped; when one argument index appears twice the
// conditions become separate rules (OR), otherwise one rule with all of them (AND).
bool AddRule(scmp_filter_ctx ctx, const Napi::Object& rule, size_t i, uint32_t defaultAction,
             std::vector<std::string>& allNames, Error& e) {
  std::string actionName;
  if (!GetString(rule, "action", actionName)) {
    e = {Field(i, ".action") + ": must be a string"};
    return false;
  }
  bool hasErrno = false;
  uint32_t errnoRet = 0;
  if (!GetOptionalUint(rule, "errnoRet", hasErrno, errnoRet)) {
    e = {Field(i, ".errnoRet") + ": must be a non-negative integer"};
    return false;
  }
  uint32_t action;
  if (!Action(actionName, hasErrno, errnoRet, action)) {
    e = {Field(i, ".action") + ": unknown seccomp action \"" + actionName + "\""};
    return false;
  }
  Napi::Value namesV = rule.Get("names");
  if (!namesV.IsArray()) {
    e = {Field(i, ".names") + ": must be an array of syscall names"};
    return false;
  }
  std::vector<scmp_arg_cmp> conds;
  bool repeatedIndex = false;
  unsigned seen[6] = {0, 0, 0, 0, 0, 0};
  Napi::Value argsV = rule.Get("args");
  if (argsV.IsArray()) {
    Napi::Array args = argsV.As<Napi::Array>();
    for (uint32_t a = 0; a < args.Length(); a++) {
      std::string at = Field(i, ".args[") + std::to_string(a) + "]";
      Napi::Value av = args.Get(a);
      if (!av.IsObject()) {
        e = {at + ": must be an object"};
        return false;
      }
      Napi::Object arg = av.As<Napi::Object>();
      bool hasIndex = false;
      uint32_t index = 0;
      if (!GetOptionalUint(arg, "index", hasIndex, index) || !hasIndex || index > 5) {
        e = {at + ".index: must be an integer from 0 to 5"};
        return false;
      }
      std::string opName;
      scmp_compare op;
      if (!GetString(arg, "op", opName) || !Operator(opName, op)) {
        e = {at + ".op: unknown seccomp operator \"" + opName + "\""};
        return false;
      }
      uint64_t value = 0, valueTwo = 0;
      if (!GetUint64(arg.Get("value"), value)) {
        e = {at + ".value: must be an unsigned 64-bit integer"};
        return false;
      }
      if (!GetUint64(arg.Get("valueTwo"), valueTwo)) {
        e = {at + ".valueTwo: must be an unsigned 64-bit integer"};
        return false;
      }
      if (++seen[index] > 1) repeatedIndex = true;
      conds.push_back({index, op, value, valueTwo});
    }
  } else if (!argsV.IsUndefined() && !argsV.IsNull()) {
    e = {Field(i, ".args") + ": must be an array"};
    return false;
  }

  Napi::Array names = namesV.As<Napi::Array>();
  for (uint32_t n = 0; n < names.Length(); n++) {
    Napi::Value nv = names.Get(n);
    if (!nv.IsString()) {
      e = {Field(i, ".names[") + std::to_string(n) + "]: must be a string"};
      return false;
    }
    std::string name = nv.As<Napi::String>().Utf8Value();
    if (name.empty()) {
      e = {Field(i, ".names[") + std::to_string(n) + "]: empty string is not a valid syscall"};
      return false;
    }
    allNames.push_back(name);  // for the -ENOSYS stub, which counts these too (runc)
    if (action == defaultAction) continue;  // redundant
    int nr = seccomp_syscall_resolve_name(name.c_str());
    if (nr == __NR_SCMP_ERROR) continue;  // not known to this libseccomp: skipped like runc
    int rc = 0;
    if (conds.empty() || !repeatedIndex) {
      rc = seccomp_rule_add_array(ctx, action, nr, static_cast<unsigned>(conds.size()),
                                  conds.empty() ? nullptr : conds.data());
    } else {
      for (auto& c : conds) {
        rc = seccomp_rule_add_array(ctx, action, nr, 1, &c);
        if (rc != 0) break;
      }
    }
    if (rc != 0) {
      e = {Field(i, "") + ": adding the rule for syscall " + name + ": " + strerror(-rc), -rc};
      return false;
    }
  }
  return true;
}

bool Compile(const Napi::Object& desc, std::vector<uint8_t>& out, Error& e) {
  std::string defName;
  if (!GetString(desc, "defaultAction", defName)) {
    e = {"defaultAction: must be a string"};
    return false;
  }
  bool hasErrno = false;
  uint32_t errnoRet = 0;
  if (!GetOptionalUint(desc, "defaultErrnoRet", hasErrno, errnoRet)) {
    e = {"defaultErrnoRet: must be a non-negative integer"};
    return false;
  }
  uint32_t defaultAction;
  if (!Action(defName, hasErrno, errnoRet, defaultAction)) {
    e = {"defaultAction: unknown seccomp action \"" + defName + "\""};
    return false;
  }
  if (defaultAction == SCMP_ACT_NOTIFY) {
    e = {"defaultAction: SCMP_ACT_NOTIFY cannot be used as default action"};
    return false;
  }
  Filter filter(seccomp_init(defaultAction));
  if (!filter.get()) {
    e = {"defaultAction: libseccomp rejected " + defName +
         (hasErrno ? " with errno " + std::to_string(errnoRet) + " (valid errnos are 0-4095)" : std::string())};
    return false;
  }

  std::vector<uint32_t> archTokens;  // for the -ENOSYS stub
  Napi::Value archV = desc.Get("architectures");
  if (archV.IsArray()) {
    Napi::Array archs = archV.As<Napi::Array>();
    for (uint32_t a = 0; a < archs.Length(); a++) {
      std::string at = "architectures[" + std::to_string(a) + "]";
      Napi::Value v = archs.Get(a);
      std::string name = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
      uint32_t arch = Arch(name);
      if (arch == 0) {
        e = {at + ": " + (name.empty() ? std::string("must be a string") : name + " is not supported by this libseccomp")};
        return false;
      }
      archTokens.push_back(arch);
      int rc = seccomp_arch_add(filter.get(), arch);
      if (rc != 0 && rc != -EEXIST) {
        e = {at + ": adding " + name + ": " + strerror(-rc), -rc};
        return false;
      }
    }
  }

  Napi::Value callsV = desc.Get("syscalls");
  size_t callCount = 0;
  std::vector<std::string> syscallNames;  // every name of every rule, for the -ENOSYS stub
  if (callsV.IsArray()) {
    Napi::Array calls = callsV.As<Napi::Array>();
    // count first: runc turns on the binary-tree optimisation above 32 syscalls
    for (uint32_t i = 0; i < calls.Length(); i++) {
      Napi::Value rv = calls.Get(i);
      if (rv.IsObject() && rv.As<Napi::Object>().Get("names").IsArray())
        callCount += rv.As<Napi::Object>().Get("names").As<Napi::Array>().Length();
    }
    if (callCount > 32) seccomp_attr_set(filter.get(), SCMP_FLTATR_CTL_OPTIMIZE, 2);  // not fatal
    for (uint32_t i = 0; i < calls.Length(); i++) {
      Napi::Value rv = calls.Get(i);
      if (!rv.IsObject()) {
        e = {Field(i, "") + ": must be an object"};
        return false;
      }
      if (!AddRule(filter.get(), rv.As<Napi::Object>(), i, defaultAction, syscallNames, e)) return false;
    }
  } else if (!callsV.IsUndefined() && !callsV.IsNull()) {
    e = {"syscalls: must be an array"};
    return false;
  }

  Fd mem(memfd_create("tsoci-seccomp-bpf", MFD_CLOEXEC));
  if (!mem) {
    e = {std::string("memfd_create: ") + strerror(errno), errno};
    return false;
  }
  int rc = seccomp_export_bpf(filter.get(), mem.get());
  if (rc != 0) {
    e = {std::string("seccomp_export_bpf: ") + strerror(-rc), -rc};
    return false;
  }
  struct stat st;
  if (fstat(mem.get(), &st) < 0) {
    e = {std::string("fstat memfd: ") + strerror(errno), errno};
    return false;
  }
  out.resize(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = pread(mem.get(), out.data() + done, out.size() - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      e = {std::string("read exported filter: ") + (n < 0 ? strerror(errno) : "short read"), n < 0 ? errno : EIO};
      return false;
    }
    done += static_cast<size_t>(n);
  }
  if (out.empty() || out.size() % 8 != 0) {
    e = {"seccomp_export_bpf produced " + std::to_string(out.size()) + " bytes, not a sock_filter array", EIO};
    return false;
  }
  // runc: the -ENOSYS stub goes in front unless the default action allows (ALLOW, LOG, TRACE)
  if (defaultAction != SCMP_ACT_ALLOW && defaultAction != SCMP_ACT_LOG && (defaultAction & 0xffff0000U) != SCMP_ACT_TRACE(0)) {
    std::vector<sock_filter> stub = EnosysStub(archTokens, syscallNames);
    out.insert(out.begin(), reinterpret_cast<const uint8_t*>(stub.data()), reinterpret_cast<const uint8_t*>(stub.data() + stub.size()));
  }
  return true;
}

Napi::Value CompileSeccomp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) return ErrorResult(env, {"compileSeccomp: expected a profile object"});
  std::vector<uint8_t> bpf;
  Error e;
  if (!Compile(info[0].As<Napi::Object>(), bpf, e)) return ErrorResult(env, e);
  Napi::Object o = Napi::Object::New(env);
  o.Set("bpf", Napi::Buffer<uint8_t>::Copy(env, bpf.data(), bpf.size()));
  return o;
}

Napi::Value SeccompInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  const scmp_version* v = seccomp_version();
  o.Set("available", true);
  o.Set("version", std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->micro));
  o.Set("apiLevel", seccomp_api_get());
  return o;
}

#else  // !HAVE_SECCOMP

Napi::Value CompileSeccomp(const Napi::CallbackInfo& info) {
  return ErrorResult(info.Env(), {"tsoci was built without libseccomp: seccomp profiles are not supported", ENOSYS});
}

Napi::Value SeccompInfo(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("available", false);
  o.Set("version", "");
  o.Set("apiLevel", 0);
  return o;
}

#endif

}  // namespace

void RegisterSeccomp(Napi::Env env, Napi::Object exports) {
  exports.Set("compileSeccomp", Napi::Function::New(env, CompileSeccomp));
  exports.Set("seccompInfo", Napi::Function::New(env, SeccompInfo));
}

}  // namespace tsoci
