// Placeholder so the build has a source until the addon lands.
#include <napi.h>
static Napi::Object Init(Napi::Env env, Napi::Object exports) { return exports; }
NODE_API_MODULE(tsoci, Init)
