// Who may use a Unix socket door: the peer's credentials from the kernel
// (SO_PEERCRED) checked against a group, on top of the socket file's mode,
// so a wrong chmod of the socket does not open it to everyone.
// Trusts the kernel's credentials and the system's user and group database
// (NSS); trusts nothing the client says about itself.
#pragma once

#include <sys/types.h>
#include <optional>
#include <string>

#include "spool/result.hpp"

namespace mailqd {

struct PeerCredentials {
    uid_t uid = static_cast<uid_t>(-1);
    gid_t gid = static_cast<gid_t>(-1);
    std::string user;  // the uid's name, or the number when it has none
};

// The connected peer of a Unix stream socket; nullopt if the kernel won't say.
std::optional<PeerCredentials> peer_credentials(int fd);

// Allowed when group is empty (no check configured), the peer is root or
// the daemon's own user, or the group is the peer's primary or one of its
// supplementary groups. Refusal: ErrorKind::permission with
// "user X is not in group G" (or why it could not be decided).
Status check_peer_group(const PeerCredentials& peer, const std::string& group);

// Both steps for a socket: credentials unknown is a refusal unless group is empty.
Status check_peer_group(int fd, const std::string& group);

}  // namespace mailqd
