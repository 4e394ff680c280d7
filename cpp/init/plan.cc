#include "plan.h"

#include <errno.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "errors.h"

namespace tsoci {

using json = nlohmann::json;

bool Plan::has_namespace(const std::string& type) const {
  for (auto& n : namespaces)
    if (n.type == type) return true;
  return false;
}

bool Plan::creates(const std::string& type) const {
  for (auto& n : namespaces)
    if (n.type == type && n.path.empty()) return true;
  return false;
}

namespace {

// JavaScript cannot represent RLIM_INFINITY (2^64-1) exactly: JSON.stringify gives
// 18446744073709552000, which parses as a double. Anything that large, or negative,
// means "unlimited".
rlim_t to_rlim(const json& v) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer()) {
    int64_t i = v.get<int64_t>();
    return i < 0 ? RLIM_INFINITY : static_cast<rlim_t>(i);
  }
  double d = v.get<double>();
  if (d < 0 || d >= 18446744073709551615.0) return RLIM_INFINITY;
  return static_cast<rlim_t>(d);
}

std::vector<int> int_list(const json& j, const char* key) {
  std::vector<int> out;
  if (j.contains(key)) out = j.at(key).get<std::vector<int>>();
  return out;
}

std::vector<IdMapping> id_maps(const json& j, const char* key) {
  std::vector<IdMapping> out;
  for (auto& m : j.value(key, json::array()))
    out.push_back({m.at("containerID").get<uint32_t>(), m.at("hostID").get<uint32_t>(),
                   m.at("size").get<uint32_t>()});
  return out;
}

Process parse_process(const json& j) {
  Process p;
  p.args = j.at("args").get<std::vector<std::string>>();
  p.env = j.value("env", std::vector<std::string>{});
  p.cwd = j.value("cwd", std::string("/"));
  p.uid = j.value("uid", 0u);
  p.gid = j.value("gid", 0u);
  p.additionalGids = j.value("additionalGids", std::vector<uint32_t>{});
  p.umask = j.value("umask", -1);
  p.terminal = j.value("terminal", false);
  p.noNewPrivileges = j.value("noNewPrivileges", false);
  if (j.contains("capabilities") && !j.at("capabilities").is_null()) {
    auto& c = j.at("capabilities");
    p.capabilities = Capabilities{int_list(c, "bounding"), int_list(c, "effective"),
                                  int_list(c, "inheritable"), int_list(c, "permitted"),
                                  int_list(c, "ambient")};
  }
  for (auto& r : j.value("rlimits", json::array()))
    p.rlimits.push_back({r.at("resource").get<int>(), to_rlim(r.at("soft")), to_rlim(r.at("hard"))});
  if (j.contains("oomScoreAdj") && !j.at("oomScoreAdj").is_null())
    p.oomScoreAdj = j.at("oomScoreAdj").get<int>();
  if (p.args.empty()) fail_msg("plan", "", EINVAL, "process.args must not be empty");
  return p;
}

std::optional<std::string> opt_string(const json& j, const char* key) {
  if (j.contains(key) && j.at(key).is_string()) return j.at(key).get<std::string>();
  return std::nullopt;
}

}  // namespace

Plan parse_plan(const std::string& line) {
  Plan p;
  try {
    json j = json::parse(line);
    p.version = j.at("version").get<int>();
    if (p.version != 1)
      fail_msg("plan", "", EINVAL, "unsupported plan version " + std::to_string(p.version));
    p.execMode = j.at("mode").get<std::string>() == "exec";
    p.foreground = j.value("wait", std::string("detach")) == "foreground";
    for (auto& n : j.value("namespaces", json::array()))
      p.namespaces.push_back({n.at("type").get<std::string>(), n.value("path", std::string())});
    p.uidMappings = id_maps(j, "uidMappings");
    p.gidMappings = id_maps(j, "gidMappings");
    p.setgroupsDeny = j.value("setgroupsDeny", false);
    for (auto& t : j.value("timeOffsets", json::array()))
      p.timeOffsets.push_back({t.at("clock").get<std::string>(), t.value("secs", int64_t(0)),
                               t.value("nanosecs", int64_t(0))});
    p.hostname = opt_string(j, "hostname");
    p.domainname = opt_string(j, "domainname");
    p.rootfs = j.value("rootfs", std::string());
    p.rootfsReadonly = j.value("rootfsReadonly", false);
    p.rootfsPropagation = j.value("rootfsPropagation", 0ul);
    p.noPivot = j.value("noPivot", false);
    for (auto& m : j.value("mounts", json::array())) {
      Mount x;
      x.source = m.value("source", std::string());
      x.destination = m.at("destination").get<std::string>();
      x.type = m.value("type", std::string());
      x.flags = m.value("flags", 0ul);
      x.data = m.value("data", std::string());
      x.remountFlags = m.value("remountFlags", 0ul);
      x.clearedFlags = m.value("clearedFlags", 0ul);
      x.propagationFlags = m.value("propagationFlags", std::vector<unsigned long>{});
      x.createFile = m.value("createAs", std::string("dir")) == "file";
      x.tmpcopyup = m.value("tmpcopyup", false);
      x.replaces = m.value("replaces", std::string());
      parse_mount_ext(m, x.ext);
      p.mounts.push_back(std::move(x));
    }
    for (auto& d : j.value("devices", json::array())) {
      Device x;
      x.path = d.at("path").get<std::string>();
      std::string t = d.value("type", std::string("c"));
      x.type = t.empty() ? 'c' : t[0];
      x.major = d.value("major", 0u);
      x.minor = d.value("minor", 0u);
      x.fileMode = d.value("fileMode", 0666u);
      x.uid = d.value("uid", 0u);
      x.gid = d.value("gid", 0u);
      x.bindFrom = d.value("bindFrom", std::string());
      p.devices.push_back(std::move(x));
    }
    for (auto& s : j.value("symlinks", json::array()))
      p.symlinks.push_back({s.at("target").get<std::string>(), s.at("path").get<std::string>()});
    p.maskedPaths = j.value("maskedPaths", std::vector<std::string>{});
    p.readonlyPaths = j.value("readonlyPaths", std::vector<std::string>{});
    p.sysctl = j.value("sysctl", std::map<std::string, std::string>{});
    p.process = parse_process(j.at("process"));
    p.execFifo = opt_string(j, "execFifo").value_or("");
    p.hostMountRecord = opt_string(j, "hostMountRecord").value_or("");
    p.consoleSocket = opt_string(j, "consoleSocket").value_or("");
    p.consoleClearOnlcr = j.value("consoleClearOnlcr", false);
    p.preserveFds = j.value("preserveFds", 0);
    p.execTargetPid = j.value("execTargetPid", 0);
    p.pauseForHooks = j.value("pauseForHooks", false);
    if (j.contains("debugLog")) {
      const auto& d = j.at("debugLog");
      p.debugLog.enabled = true;
      p.debugLog.json = d.value("format", std::string("text")) == "json";
      p.debugLog.file = d.value("file", std::string());
    }
    parse_extras(j, p.extras);
    parse_seccomp(j, p.seccomp);
    if (j.contains("containerHooks")) p.containerHooks = parse_container_hooks(j.at("containerHooks"));
    parse_memory_policy(j, p.memoryPolicy);
  } catch (const json::exception& e) {
    fail_msg("plan", "", EINVAL, std::string("invalid launch plan: ") + e.what());
  }
  if (!p.execMode && p.rootfs.empty()) fail_msg("plan", "", EINVAL, "plan has no rootfs");
  // no mount namespace: the host's is shared (host_mounts.h); masking needs a private one
  if (!p.execMode && !p.has_namespace("mount") &&
      (p.hostMountRecord.empty() || !p.maskedPaths.empty() || !p.readonlyPaths.empty() || p.rootfsReadonly))
    fail_msg("plan", "", EINVAL, "without a mount namespace the plan needs a host mount record and no masked, "
                                 "read-only paths or read-only rootfs");
  if (p.preserveFds < 0) fail_msg("plan", "", EINVAL, "preserveFds must be >= 0");
  return p;
}

}  // namespace tsoci
