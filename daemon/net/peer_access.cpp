// See peer_access.hpp.
#include "daemon/net/peer_access.hpp"

#include <grp.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>
#include <algorithm>
#include <vector>

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

// The user's supplementary groups as the system database lists them (the
// peer's own process may have dropped some, but membership is what an admin
// grants with usermod -aG, and it takes effect without a new login).
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

}  // namespace

std::optional<PeerCredentials> peer_credentials(int fd)
{
    struct ucred cred {};
    socklen_t length = sizeof cred;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &length) != 0) return std::nullopt;
    PeerCredentials peer{cred.uid, cred.gid, std::to_string(cred.uid)};
    std::vector<char> buffer(nss_buffer_size);
    struct passwd entry {};
    struct passwd* found = nullptr;
    if (::getpwuid_r(cred.uid, &entry, buffer.data(), buffer.size(), &found) == 0 && found)
        peer.user = found->pw_name;
    return peer;
}

Status check_peer_group(const PeerCredentials& peer, const std::string& group)
{
    if (group.empty() || peer.uid == 0 || peer.uid == ::geteuid()) return {};
    auto wanted = group_id(group);
    if (!wanted) return make_error(ErrorKind::permission, "group " + group + " does not exist");
    if (peer.gid == *wanted) return {};
    // A uid without a name has no supplementary groups to look up.
    if (peer.user != std::to_string(peer.uid) && user_in_group(peer.user, peer.gid, *wanted)) return {};
    return make_error(ErrorKind::permission, "user " + peer.user + " is not in group " + group);
}

Status check_peer_group(int fd, const std::string& group)
{
    if (group.empty()) return {};
    auto peer = peer_credentials(fd);
    if (!peer) return make_error(ErrorKind::permission, "cannot read the peer's credentials");
    return check_peer_group(*peer, group);
}

}  // namespace mailqd
