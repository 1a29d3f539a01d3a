// check_peer_group and check_peer_users: who may use a socket door, decided from credentials;
// and the credentials themselves, read from real sockets.
// Membership through supplementary groups needs real users; the integration
// test (test_service.py) creates throwaway ones for that.
#include "daemon/net/peer_access.hpp"

#include <grp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>
#include <vector>

namespace mailqd {
namespace {

// An unprivileged uid that is not ours, with its name and primary group.
PeerCredentials nobody()
{
    const struct passwd* pw = ::getpwnam("nobody");
    if (pw == nullptr) return {65534, 65534, "65534", {}};
    return {pw->pw_uid, pw->pw_gid, pw->pw_name, {}};
}

TEST(PeerAccess, EmptyGroupAllowsEveryone) { EXPECT_TRUE(check_peer_group(nobody(), "").ok()); }

TEST(PeerAccess, RootAndOwnUserAlwaysAllowed)
{
    EXPECT_TRUE(check_peer_group(PeerCredentials{0, 0, "root", {}}, "no-such-group-xyz").ok());
    EXPECT_TRUE(
        check_peer_group(PeerCredentials{::geteuid(), ::getegid(), "me", {}}, "no-such-group-xyz").ok());
}

TEST(PeerAccess, OutsiderRefusedWithNames)
{
    PeerCredentials peer = nobody();
    if (peer.uid == ::geteuid()) GTEST_SKIP() << "running as nobody";
    Status s = check_peer_group(peer, "root");  // nobody is not in group root
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().kind, ErrorKind::permission);
    EXPECT_EQ(s.error().message, "user " + peer.user + " is not in group root");
}

TEST(PeerAccess, PrimaryGroupAllowed)
{
    PeerCredentials peer = nobody();
    const struct group* gr = ::getgrgid(peer.gid);
    if (gr == nullptr || peer.uid == ::geteuid()) GTEST_SKIP() << "nobody's group has no name";
    EXPECT_TRUE(check_peer_group(peer, gr->gr_name).ok());
}

TEST(PeerAccess, UnknownGroupRefused)
{
    PeerCredentials peer = nobody();
    if (peer.uid == ::geteuid()) GTEST_SKIP() << "running as nobody";
    Status s = check_peer_group(peer, "no-such-group-xyz");
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().message, "group no-such-group-xyz does not exist");
}

TEST(PeerAccess, UnnamedUidHasOnlyItsPrimaryGroup)
{
    PeerCredentials peer{54321, 54321, "54321", {}};
    EXPECT_FALSE(check_peer_group(peer, "root").ok());
}

TEST(PeerAccess, TheProcessSupplementaryGroupsCount)
{
    // As `sg mailqd sendmail` or SupplementaryGroups=: a group the user
    // database does not list the user in, held by the process.
    PeerCredentials peer{54321, 54321, "54321", {0}};
    EXPECT_TRUE(check_peer_group(peer, "root").ok());
}

TEST(PeerUsers, EveryoneNamesAndGroups)
{
    PeerCredentials peer = nobody();
    if (peer.uid == ::geteuid()) GTEST_SKIP() << "running as nobody";
    EXPECT_TRUE(check_peer_users(peer, {"*"}).ok());
    EXPECT_TRUE(check_peer_users(peer, {"www-data", peer.user}).ok());
    const struct group* gr = ::getgrgid(peer.gid);
    if (gr != nullptr) EXPECT_TRUE(check_peer_users(peer, {"@root", std::string("@") + gr->gr_name}).ok());
}

TEST(PeerUsers, RefusalsSayWhy)
{
    PeerCredentials peer = nobody();
    if (peer.uid == ::geteuid()) GTEST_SKIP() << "running as nobody";
    Status one_group = check_peer_users(peer, {"@root"});
    ASSERT_FALSE(one_group.ok());
    EXPECT_EQ(one_group.error().kind, ErrorKind::permission);
    EXPECT_EQ(one_group.error().message, "user " + peer.user + " is not in group root");
    Status listed = check_peer_users(peer, {"www-data", "@root"});
    ASSERT_FALSE(listed.ok());
    EXPECT_EQ(listed.error().message, "user " + peer.user + " is not listed");
    // Empty: nobody but root and the daemon's own user.
    EXPECT_FALSE(check_peer_users(peer, {}).ok());
    EXPECT_TRUE(check_peer_users(PeerCredentials{0, 0, "root", {}}, {}).ok());
    EXPECT_TRUE(check_peer_users(PeerCredentials{::geteuid(), ::getegid(), "me", {}}, {}).ok());
}

TEST(PeerCredentialsOf, AUnixSocketPeerWithItsGroups)
{
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    auto peer = unix_peer_credentials(fds[0]);
    ASSERT_TRUE(peer);
    EXPECT_EQ(peer->uid, ::geteuid());
    EXPECT_EQ(peer->gid, ::getegid());
    EXPECT_EQ(peer->user, std::to_string(::geteuid()));  // no NSS here
    std::vector<gid_t> own(::getgroups(0, nullptr));
    own.resize(::getgroups(static_cast<int>(own.size()), own.data()));
    EXPECT_EQ(peer->groups, own);
    ::close(fds[0]);
    ::close(fds[1]);
}

// A loopback TCP connection: the kernel's socket table names the uid that
// owns the connecting end, seen from the accepting end.
void expect_tcp_owner(int family, const sockaddr* address, socklen_t length)
{
    int server = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(server, 0);
    ASSERT_EQ(::bind(server, address, length), 0) << std::strerror(errno);
    ASSERT_EQ(::listen(server, 1), 0);
    sockaddr_storage bound{};
    socklen_t bound_length = sizeof bound;
    ASSERT_EQ(::getsockname(server, reinterpret_cast<sockaddr*>(&bound), &bound_length), 0);
    int client = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_EQ(::connect(client, reinterpret_cast<sockaddr*>(&bound), bound_length), 0);
    int accepted = ::accept(server, nullptr, nullptr);
    ASSERT_GE(accepted, 0);
    auto peer = tcp_peer_credentials(accepted);
    ASSERT_TRUE(peer);
    EXPECT_EQ(peer->uid, ::geteuid());
    EXPECT_TRUE(peer->groups.empty());
    ::close(client);  // the other end gone: its owner is no longer known
    ::close(accepted);
    ::close(server);
}

TEST(PeerCredentialsOf, ALoopbackTcpPeer)
{
    sockaddr_in v4{};
    v4.sin_family = AF_INET;
    v4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    expect_tcp_owner(AF_INET, reinterpret_cast<sockaddr*>(&v4), sizeof v4);
    sockaddr_in6 v6{};
    v6.sin6_family = AF_INET6;
    v6.sin6_addr = in6addr_loopback;
    int probe = ::socket(AF_INET6, SOCK_STREAM, 0);
    const bool have_v6 = probe >= 0 && ::bind(probe, reinterpret_cast<sockaddr*>(&v6), sizeof v6) == 0;
    if (probe >= 0) ::close(probe);
    if (have_v6) expect_tcp_owner(AF_INET6, reinterpret_cast<sockaddr*>(&v6), sizeof v6);
}

TEST(PeerCredentialsOf, ANonSocketHasNone)
{
    EXPECT_FALSE(tcp_peer_credentials(0x7fff));
    EXPECT_FALSE(unix_peer_credentials(0x7fff));
}

}  // namespace
}  // namespace mailqd
