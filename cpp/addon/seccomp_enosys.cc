#include "seccomp_enosys.h"

#ifdef HAVE_SECCOMP
#include <errno.h>
#include <linux/audit.h>

#include <algorithm>
#include <map>

namespace tsoci {
namespace {

constexpr uint32_t kX32SyscallBit = 0x40000000;  // __X32_SYSCALL_BIT
constexpr uint32_t kEnosys = SCMP_ACT_ERRNO(ENOSYS);

// A forward-only BPF assembler: jumps name labels, resolved once the program is laid out.
struct Asm {
  struct Insn {
    uint16_t code;
    uint32_t k;
    int jt = -1, jf = -1;  // label ids for conditional jumps (-1: next instruction)
    int ja = -1;           // label id for BPF_JA
  };
  std::vector<Insn> insns;
  std::vector<int> labels;  // label id -> instruction index

  int label() {
    labels.push_back(-1);
    return static_cast<int>(labels.size()) - 1;
  }
  void bind(int l) { labels[l] = static_cast<int>(insns.size()); }
  void load(uint32_t off) { insns.push_back({BPF_LD | BPF_W | BPF_ABS, off}); }
  void jump_if(uint16_t op, uint32_t k, int jt, int jf) { insns.push_back({static_cast<uint16_t>(BPF_JMP | op | BPF_K), k, jt, jf}); }
  void jump(int l) { insns.push_back({BPF_JMP | BPF_JA, 0, -1, -1, l}); }
  void ret(uint32_t k) { insns.push_back({BPF_RET | BPF_K, k}); }

  // `end` is bound to the index after the stub: the original filter
  std::vector<sock_filter> finish() {
    std::vector<sock_filter> out;
    auto off = [&](size_t pc, int l) -> uint32_t { return l < 0 ? 0 : static_cast<uint32_t>(labels[l] - static_cast<int>(pc) - 1); };
    for (size_t pc = 0; pc < insns.size(); pc++) {
      const Insn& i = insns[pc];
      if (i.ja >= 0) out.push_back(BPF_STMT(i.code, off(pc, i.ja)));
      else if (BPF_CLASS(i.code) == BPF_JMP) out.push_back(BPF_JUMP(i.code, i.k, static_cast<uint8_t>(off(pc, i.jt)), static_cast<uint8_t>(off(pc, i.jf))));
      else out.push_back(BPF_STMT(i.code, i.k));
    }
    return out;
  }
};

// libseccomp's tokens are the AUDIT_ARCH_* values, except x32: the x86_64 audit arch with
// __X32_SYSCALL_BIT set in the syscall number
uint32_t AuditArch(uint32_t arch) { return arch == SCMP_ARCH_X32 ? AUDIT_ARCH_X86_64 : arch; }

}  // namespace

std::vector<sock_filter> EnosysStub(std::vector<uint32_t> archs, const std::vector<std::string>& names) {
  archs.push_back(seccomp_arch_native());
  // audit arch -> (libseccomp arch -> largest syscall number the profile names)
  std::map<uint32_t, std::map<uint32_t, uint32_t>> last;
  for (uint32_t arch : archs) {
    uint32_t largest = 0;
    for (const auto& name : names) {
      int nr = seccomp_syscall_resolve_name_arch(arch, name.c_str());
      if (nr >= 0) largest = std::max(largest, static_cast<uint32_t>(nr));  // negative: unknown or a pseudo-syscall
    }
    if (largest != 0) last[AuditArch(arch)][arch] = largest;
  }
  if (last.empty()) return {};

  Asm a;
  int enosys = a.label(), filter = a.label();
  std::vector<std::pair<int, const std::map<uint32_t, uint32_t>*>> bodies;
  a.load(4);  // seccomp_data.arch
  for (const auto& [audit, max] : last) {
    int body = a.label();
    a.jump_if(BPF_JEQ, audit, body, -1);
    bodies.push_back({body, &max});
  }
  a.jump(filter);  // an architecture the stub does not know: the filter decides
  for (auto& [body, max] : bodies) {
    a.bind(body);
    a.load(0);  // seccomp_data.nr
    auto has = [&](uint32_t arch) { return max->count(arch) != 0; };
    // s390: an unknown "large" syscall reaches the filter as setup(2), number 0
    if (has(SCMP_ARCH_S390) || has(SCMP_ARCH_S390X)) a.jump_if(BPF_JEQ, 0, enosys, -1);
    if (has(SCMP_ARCH_X86_64) || has(SCMP_ARCH_X32)) {
      int x32 = a.label();
      // x32 numbers carry __X32_SYSCALL_BIT; a mode the profile does not name goes to the filter
      a.jump_if(BPF_JSET, kX32SyscallBit, has(SCMP_ARCH_X32) ? x32 : filter, -1);
      if (has(SCMP_ARCH_X86_64)) a.jump_if(BPF_JGT, max->at(SCMP_ARCH_X86_64), enosys, filter);
      else a.jump(filter);
      if (has(SCMP_ARCH_X32)) {
        a.bind(x32);
        a.jump_if(BPF_JGT, max->at(SCMP_ARCH_X32), enosys, filter);
      }
    } else {
      a.jump_if(BPF_JGT, max->begin()->second, enosys, filter);
    }
  }
  a.bind(enosys);
  a.ret(kEnosys);
  a.bind(filter);
  return a.finish();
}

}  // namespace tsoci
#endif
