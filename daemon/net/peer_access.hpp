// Who is on the other end of a local door, and may they use it: the peer's
// credentials from the kernel (SO_PEERCRED and SO_PEERGROUPS on a Unix
// socket; the owner of the connecting socket, from the kernel's socket
// table, for a loopback TCP peer) checked against a group, on top of the
// socket file's mode, so a wrong chmod of the socket does not open it to
// everyone.
// Reading credentials asks only the kernel. Names and group membership come
// from the system's user and group database (NSS), which may be LDAP or
// SSSD and slow: identify_peer() does that part on a blocking executor,
// never on the io thread.
// Trusts the kernel and NSS; trusts nothing the client says about itself.
#pragma once

#include <sys/types.h>
#include <optional>
#include <string>
#include <vector>

#include "daemon/net/asio.hpp"
#include "spool/result.hpp"

namespace mailqd {

struct PeerCredentials {
    uid_t uid = static_cast<uid_t>(-1);
    gid_t gid = static_cast<gid_t>(-1);
    std::string user;  // the uid's name, or the number when it has none (or is not resolved yet)
    // The peer process's supplementary groups (SO_PEERGROUPS): what `sg`,
    // `setpriv --groups` or a unit's SupplementaryGroups= gave it. Empty
    // for a TCP peer, whose process the kernel does not name.
    std::vector<gid_t> groups;
};

// The connected peer of a Unix stream socket; nullopt if the kernel won't
// say. No NSS: user is the uid's number.
std::optional<PeerCredentials> unix_peer_credentials(int fd);

// The uid that owns the other end of a TCP connection from this host (a
// loopback peer), looked up in the kernel's socket table (NETLINK_SOCK_DIAG)
// by the connection's addresses and ports; nullopt when no local socket
// matches (the peer is not on this host, or in another network namespace)
// or the kernel won't say. No NSS: user is the uid's number, gid unknown.
std::optional<PeerCredentials> tcp_peer_credentials(int fd);

// Blocking (NSS): user becomes the uid's name where it has one.
void resolve_user_name(PeerCredentials& peer);

// Blocking (NSS). Allowed when group is empty (no check configured), the
// peer is root or the daemon's own user, or the group is the peer's primary
// group, one of its process's supplementary groups, or one the group
// database lists the user in (usermod -aG takes effect without a new
// login). Refusal: ErrorKind::permission with "user X is not in group G"
// (or why it could not be decided).
Status check_peer_group(const PeerCredentials& peer, const std::string& group);

// Blocking (NSS). A list as submit.users has it: "*" (anyone), user names,
// "@group" names (check_peer_group). Root and the daemon's own user always
// may. Refusal: ErrorKind::permission with the reason ("user X is not in
// group G", "user X is not listed").
Status check_peer_users(const PeerCredentials& peer, const std::vector<std::string>& users);

struct PeerIdentity {
    PeerCredentials peer;  // with the user's name resolved
    Status allowed;        // check_peer_users' verdict
};

// Both NSS steps on `blocking`; resumes on the caller's executor. Callers
// await it from a named local (GCC 12, see store_async.hpp).
awaitable<PeerIdentity> identify_peer(asio::any_io_executor blocking, PeerCredentials peer,
                                      std::vector<std::string> users);

}  // namespace mailqd
