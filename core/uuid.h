// Version-4 UUIDs, the ids clients and the server give new rows (SPEC.md
// section 1: lower-case text). The one source of randomness in core/: the
// kernel's CSPRNG through getrandom(2), a system call that reads no file and
// no network (the source libsodium's randombytes uses on Linux too).
// Thread-safe.
#ifndef VEMAKIN_CORE_UUID_H_
#define VEMAKIN_CORE_UUID_H_

#include <string>

namespace vemakin::core {

// A new random version-4 UUID, e.g. "3f1c0a9e-4b7d-4c2e-9a55-0d6e8b1f2a3c".
// Random bytes are read 4 KiB at a time (one system call per 256 ids).
std::string NewUuid();

}  // namespace vemakin::core

#endif  // VEMAKIN_CORE_UUID_H_
