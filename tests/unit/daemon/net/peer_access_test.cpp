// check_peer_group: who may use a socket door, decided from credentials.
// Membership through supplementary groups needs real users; the integration
// test (test_service.py) creates throwaway ones for that.
#include "daemon/net/peer_access.hpp"

#include <grp.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <unistd.h>

namespace mailqd {
namespace {

// An unprivileged uid that is not ours, with its name and primary group.
PeerCredentials nobody()
{
    const struct passwd* pw = ::getpwnam("nobody");
    if (pw == nullptr) return {65534, 65534, "65534"};
    return {pw->pw_uid, pw->pw_gid, pw->pw_name};
}

TEST(PeerAccess, EmptyGroupAllowsEveryone) { EXPECT_TRUE(check_peer_group(nobody(), "").ok()); }

TEST(PeerAccess, RootAndOwnUserAlwaysAllowed)
{
    EXPECT_TRUE(check_peer_group(PeerCredentials{0, 0, "root"}, "no-such-group-xyz").ok());
    EXPECT_TRUE(check_peer_group(PeerCredentials{::geteuid(), ::getegid(), "me"}, "no-such-group-xyz").ok());
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
    PeerCredentials peer{54321, 54321, "54321"};
    EXPECT_FALSE(check_peer_group(peer, "root").ok());
}

}  // namespace
}  // namespace mailqd
