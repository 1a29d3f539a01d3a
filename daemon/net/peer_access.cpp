// See peer_access.hpp.
#include "daemon/net/peer_access.hpp"

#include <grp.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>
#include <algorithm>
#include <cstring>
#include <utility>

namespace mailqd {
namespace {

constexpr std::size_t nss_buffer_size = 64 * 1024;

std::optional<gid_t> group_id(const std::string& name)
{
    std::vector<char> buffer(nss_buffer_size);
    struct group entry {};
    struct group* found = nullptr;
    if (::getgrnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found) != 0 || found == nullptr)
        return std::nullopt;
    return found->gr_gid;
}

bool user_in_group(const std::string& user, gid_t primary, gid_t wanted)
{
    int count = 64;
    std::vector<gid_t> groups(count);
    for (int attempt = 0; attempt < 4; ++attempt) {
        int n = count;
        if (::getgrouplist(user.c_str(), primary, groups.data(), &n) >= 0) {
            groups.resize(n);
            return std::find(groups.begin(), groups.end(), wanted) != groups.end();
        }
        count = std::max(n, count * 2);
        groups.resize(count);
    }
    return false;
}

std::vector<gid_t> peer_groups(int fd)
{
    std::vector<gid_t> groups(64);
    for (int attempt = 0; attempt < 4; ++attempt) {
        socklen_t length = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
        if (::getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &length) == 0) {
            groups.resize(length / sizeof(gid_t));
            return groups;
        }
        if (errno != ERANGE) return {};
        groups.resize(length / sizeof(gid_t) + 1);
    }
    return {};
}

// Copies a socket address's address and port into a sock_diag id.
bool fill_side(const sockaddr_storage& address, __be16& port, __be32 (&out)[4])
{
    if (address.ss_family == AF_INET) {
        const auto& v4 = reinterpret_cast<const sockaddr_in&>(address);
        port = v4.sin_port;
        std::memcpy(out, &v4.sin_addr, sizeof v4.sin_addr);
        return true;
    }
    if (address.ss_family == AF_INET6) {
        const auto& v6 = reinterpret_cast<const sockaddr_in6&>(address);
        port = v6.sin6_port;
        std::memcpy(out, &v6.sin6_addr, sizeof v6.sin6_addr);
        return true;
    }
    return false;
}

}  // namespace

std::optional<PeerCredentials> unix_peer_credentials(int fd)
{
    struct ucred cred {};
    socklen_t length = sizeof cred;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &length) != 0) return std::nullopt;
    return PeerCredentials{cred.uid, cred.gid, std::to_string(cred.uid), peer_groups(fd)};
}

// One sock_diag request for the exact connection seen from the peer's side
// (its source is our destination): the answer's idiag_uid is its owner.
std::optional<PeerCredentials> tcp_peer_credentials(int fd)
{
    sockaddr_storage local{}, remote{};
    socklen_t local_length = sizeof local, remote_length = sizeof remote;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_length) != 0 ||
        ::getpeername(fd, reinterpret_cast<sockaddr*>(&remote), &remote_length) != 0 ||
        local.ss_family != remote.ss_family)
        return std::nullopt;

    struct {
        nlmsghdr header;
        inet_diag_req_v2 request;
    } message{};
    message.header.nlmsg_len = sizeof message;
    message.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    message.header.nlmsg_flags = NLM_F_REQUEST;
    message.request.sdiag_family = static_cast<__u8>(local.ss_family);
    message.request.sdiag_protocol = IPPROTO_TCP;
    message.request.idiag_states = ~0u;
    inet_diag_sockid& id = message.request.id;
    if (!fill_side(remote, id.idiag_sport, id.idiag_src) || !fill_side(local, id.idiag_dport, id.idiag_dst))
        return std::nullopt;
    id.idiag_if = 0;
    id.idiag_cookie[0] = id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;

    const int diag = ::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (diag < 0) return std::nullopt;
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    std::optional<PeerCredentials> found;
    alignas(nlmsghdr) char answer[8192];
    if (::sendto(diag, &message, sizeof message, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) ==
        static_cast<ssize_t>(sizeof message)) {
        // A request for one socket gets one answer (or an error), at once.
        const ssize_t n = ::recv(diag, answer, sizeof answer, 0);
        auto* reply = reinterpret_cast<nlmsghdr*>(answer);
        if (n > 0 && NLMSG_OK(reply, static_cast<unsigned>(n)) && reply->nlmsg_type == SOCK_DIAG_BY_FAMILY) {
            const auto* info = static_cast<const inet_diag_msg*>(NLMSG_DATA(reply));
            found =
                PeerCredentials{info->idiag_uid, static_cast<gid_t>(-1), std::to_string(info->idiag_uid), {}};
        }
    }
    ::close(diag);
    return found;
}

void resolve_user_name(PeerCredentials& peer)
{
    std::vector<char> buffer(nss_buffer_size);
    struct passwd entry {};
    struct passwd* found = nullptr;
    if (::getpwuid_r(peer.uid, &entry, buffer.data(), buffer.size(), &found) == 0 && found) {
        peer.user = found->pw_name;
        if (peer.gid == static_cast<gid_t>(-1)) peer.gid = found->pw_gid;  // a TCP peer's: its user's
    }
}

Status check_peer_group(const PeerCredentials& peer, const std::string& group)
{
    if (group.empty() || peer.uid == 0 || peer.uid == ::geteuid()) return {};
    auto wanted = group_id(group);
    if (!wanted) return make_error(ErrorKind::permission, "group " + group + " does not exist");
    if (peer.gid == *wanted) return {};
    if (std::find(peer.groups.begin(), peer.groups.end(), *wanted) != peer.groups.end()) return {};
    // A uid without a name has no supplementary groups to look up.
    if (peer.user != std::to_string(peer.uid) && user_in_group(peer.user, peer.gid, *wanted)) return {};
    return make_error(ErrorKind::permission, "user " + peer.user + " is not in group " + group);
}

Status check_peer_users(const PeerCredentials& peer, const std::vector<std::string>& users)
{
    if (peer.uid == 0 || peer.uid == ::geteuid()) return {};
    std::optional<Error> group_refusal;
    for (const auto& entry : users) {
        if (entry == "*" || entry == peer.user) return {};
        if (entry.size() > 1 && entry[0] == '@') {
            Status member = check_peer_group(peer, entry.substr(1));
            if (member) return {};
            if (!group_refusal) group_refusal = member.error();
        }
    }
    // One group named: its reason (which may be that it does not exist).
    if (group_refusal && users.size() == 1) return *group_refusal;
    return make_error(ErrorKind::permission, "user " + peer.user + " is not listed");
}

namespace {

// co_spawn default-constructs its result for the exception path: hence the
// optional (never empty once awaited).
awaitable<std::optional<PeerIdentity>> identify_here(PeerCredentials peer, std::vector<std::string> users)
{
    resolve_user_name(peer);
    Status allowed = check_peer_users(peer, users);
    co_return PeerIdentity{std::move(peer), std::move(allowed)};
}

}  // namespace

awaitable<PeerIdentity> identify_peer(asio::any_io_executor blocking, PeerCredentials peer,
                                      std::vector<std::string> users)
{
    awaitable<std::optional<PeerIdentity>> op =
        asio::co_spawn(blocking, identify_here(std::move(peer), std::move(users)), use_awaitable);
    std::optional<PeerIdentity> identity = co_await std::move(op);
    co_return std::move(*identity);
}

}  // namespace mailqd
