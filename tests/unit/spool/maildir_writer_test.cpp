#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>
#include <fstream>
#include <set>
#include <sstream>
#include <type_traits>

#include "spool/maildir_writer.hpp"

namespace mailqd {
namespace {

namespace fs = std::filesystem;

// It owns descriptors of tmp/ and new/: moved, never copied.
static_assert(!std::is_copy_constructible_v<MaildirWriter> && !std::is_copy_assignable_v<MaildirWriter>);
static_assert(std::is_nothrow_move_constructible_v<MaildirWriter>);

class MaildirWriterTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        char pattern[] = "/tmp/maildir_writer_test.XXXXXX";
        ASSERT_NE(::mkdtemp(pattern), nullptr);
        dir_ = pattern;
    }
    void TearDown() override { fs::remove_all(dir_); }

    static std::string read(const fs::path& file)
    {
        std::ifstream in(file, std::ios::binary);
        std::stringstream ss;
        ss << in.rdbuf();
        return ss.str();
    }
    static std::size_t count(const fs::path& dir)
    {
        return static_cast<std::size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
    }

    fs::path dir_;
};

TEST_F(MaildirWriterTest, CreatesSubdirectoriesIfMissing)
{
    auto writer = MaildirWriter::open(dir_ / "a" / "Maildir");
    ASSERT_TRUE(writer) << writer.error().message;
    for (const char* sub : {"cur", "new", "tmp"}) {
        struct stat st {};
        ASSERT_EQ(::stat((dir_ / "a" / "Maildir" / sub).c_str(), &st), 0) << sub;
        EXPECT_TRUE(S_ISDIR(st.st_mode));
        EXPECT_EQ(st.st_mode & 0777, 0700u);
    }
    // Opening an existing Maildir is fine.
    EXPECT_TRUE(MaildirWriter::open(dir_ / "a" / "Maildir"));
}

TEST_F(MaildirWriterTest, RefusesAFileWhereADirectoryShouldBe)
{
    fs::create_directories(dir_ / "m");
    std::ofstream(dir_ / "m" / "new") << "x";
    auto writer = MaildirWriter::open(dir_ / "m");
    ASSERT_FALSE(writer);
    EXPECT_NE(writer.error().message.find("new is not a directory, refusing"), std::string::npos)
        << writer.error().message;
    EXPECT_EQ(writer.error().kind, ErrorKind::config);
}

// Issue 12 item 2: the owner of a home Maildir links its parts into mailqd's
// spool (tmp -> spool/tmp, new -> spool/incoming): fetched mail would become
// submissions, relayed to whatever its headers say. Each part is refused as
// a link, and nothing is created where the link points.
class MaildirLinkTest : public MaildirWriterTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(MaildirLinkTest, RefusesALinkedPart)
{
    const std::string part = GetParam();
    const fs::path maildir = dir_ / "m";
    const fs::path target = dir_ / "spool" / "incoming";
    fs::create_directories(target);
    for (const char* sub : {"cur", "new", "tmp"})
        if (sub != part) fs::create_directories(maildir / sub);
    fs::create_directory_symlink(target, maildir / part);

    auto writer = MaildirWriter::open(maildir);
    ASSERT_FALSE(writer) << "opened a Maildir whose " << part << "/ is a symbolic link";
    EXPECT_EQ(writer.error().kind, ErrorKind::config);
    EXPECT_EQ(writer.error().message,
              "maildir " + maildir.string() + ": " + part + " is a symbolic link, refusing");
    EXPECT_EQ(count(target), 0u);
}

INSTANTIATE_TEST_SUITE_P(Parts, MaildirLinkTest, ::testing::Values("tmp", "new", "cur"),
                         [](const auto& info) { return std::string(info.param); });

// The last component of the configured path is what a home Maildir's owner
// can replace, so it must not be a link (with or without a trailing slash).
TEST_F(MaildirWriterTest, RefusesAMaildirThatIsASymbolicLink)
{
    for (const char* sub : {"cur", "new", "tmp"}) fs::create_directories(dir_ / "real" / sub);
    fs::create_directory_symlink(dir_ / "real", dir_ / "link");
    for (const fs::path& path : {dir_ / "link", dir_ / "link" / ""}) {
        auto writer = MaildirWriter::open(path);
        ASSERT_FALSE(writer) << "opened " << path;
        EXPECT_EQ(writer.error().kind, ErrorKind::config);
        EXPECT_NE(writer.error().message.find(": the Maildir directory is a symbolic link, refusing"),
                  std::string::npos)
            << writer.error().message;
    }
}

// Links above the last component are the admin's choice (a /var/mail that
// is a link to another disk): followed.
TEST_F(MaildirWriterTest, FollowsLinksAboveTheMaildir)
{
    fs::create_directories(dir_ / "disk");
    fs::create_directory_symlink(dir_ / "disk", dir_ / "mail");
    auto writer = MaildirWriter::open(dir_ / "mail" / "box");
    ASSERT_TRUE(writer) << writer.error().message;
    ASSERT_TRUE(writer->deliver_one("x\n"));
    EXPECT_EQ(count(dir_ / "disk" / "box" / "new"), 1u);
}

// The writer keeps the tmp/ and new/ it checked: swapping them for links
// afterwards sends nothing elsewhere, and tagged_in_new reads the same new/.
TEST_F(MaildirWriterTest, PartsSwappedForLinksAfterOpenChangeNothing)
{
    const fs::path maildir = dir_ / "m";
    const fs::path spool = dir_ / "spool";
    fs::create_directories(spool / "tmp");
    fs::create_directories(spool / "incoming");
    std::ofstream(spool / "incoming" / "1.M1P1Q1Xfeedfeedfeedfeed.host,S=2,W=3") << "x\n";
    auto writer = MaildirWriter::open(maildir);
    ASSERT_TRUE(writer) << writer.error().message;
    fs::rename(maildir / "tmp", maildir / "tmp.old");
    fs::rename(maildir / "new", maildir / "new.old");
    fs::create_directory_symlink(spool / "tmp", maildir / "tmp");
    fs::create_directory_symlink(spool / "incoming", maildir / "new");

    auto names = writer->deliver({"one\n"}, {"00000000000000aa"});
    ASSERT_TRUE(names) << names.error().message;
    EXPECT_EQ(count(spool / "tmp"), 0u);
    EXPECT_EQ(count(spool / "incoming"), 1u);  // only the file that was there
    EXPECT_EQ(read(maildir / "new.old" / names->front()), "one\n");
    const auto tagged = writer->tagged_in_new();
    EXPECT_EQ(tagged.size(), 1u);
    EXPECT_EQ(tagged.count("00000000000000aa"), 1u);
}

// A Maildir belongs to one user, as when local(8) or Dovecot deliver as that
// user: a part of another uid is refused. Needs root to hand out files.
TEST_F(MaildirWriterTest, RefusesAPartOfAnotherUidThanTheMaildir)
{
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to give a directory to another uid";
    const fs::path maildir = dir_ / "m";
    for (const char* sub : {"cur", "new", "tmp"}) fs::create_directories(maildir / sub);
    ASSERT_EQ(::chown(maildir.c_str(), 4242, 4242), 0);
    for (const char* sub : {"cur", "tmp"}) ASSERT_EQ(::chown((maildir / sub).c_str(), 4242, 4242), 0);
    // new/ stays root's, which is not the Maildir's owner.
    auto writer = MaildirWriter::open(maildir);
    ASSERT_FALSE(writer) << "opened a Maildir whose new/ belongs to another uid";
    EXPECT_EQ(writer.error().kind, ErrorKind::config);
    EXPECT_EQ(writer.error().message,
              "maildir " + maildir.string() +
                  ": new belongs to uid 0, the Maildir directory to uid 4242, refusing");
}

// A home Maildir, all of it its user's: fine.
TEST_F(MaildirWriterTest, AcceptsAMaildirWhollyOfAnotherUser)
{
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to give a directory to another uid";
    const fs::path maildir = dir_ / "m";
    for (const char* sub : {"cur", "new", "tmp"}) fs::create_directories(maildir / sub);
    for (const fs::path& p : {maildir, maildir / "cur", maildir / "new", maildir / "tmp"})
        ASSERT_EQ(::chown(p.c_str(), 4242, 4242), 0);
    auto writer = MaildirWriter::open(maildir);
    ASSERT_TRUE(writer) << writer.error().message;
    ASSERT_TRUE(writer->deliver_one("x\n"));
    EXPECT_EQ(count(maildir / "new"), 1u);
}

// mailqd would own a part it made in someone else's Maildir (and refuse it
// the next time): it leaves that to the owner.
TEST_F(MaildirWriterTest, DoesNotCreateAPartInAnotherUsersMaildir)
{
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to give a directory to another uid";
    const fs::path maildir = dir_ / "m";
    for (const char* sub : {"cur", "new"}) fs::create_directories(maildir / sub);
    for (const fs::path& p : {maildir, maildir / "cur", maildir / "new"})
        ASSERT_EQ(::chown(p.c_str(), 4242, 4242), 0);
    auto writer = MaildirWriter::open(maildir);
    ASSERT_FALSE(writer) << "made tmp/ in a Maildir of uid 4242";
    EXPECT_EQ(writer.error().kind, ErrorKind::config);
    EXPECT_NE(writer.error().message.find("tmp is missing and the Maildir directory belongs to uid 4242"),
              std::string::npos)
        << writer.error().message;
    EXPECT_FALSE(fs::exists(maildir / "tmp"));
}

TEST_F(MaildirWriterTest, BatchLandsInNewWithExactContentAndUniqueNames)
{
    auto writer = MaildirWriter::open(dir_);
    ASSERT_TRUE(writer);
    std::vector<std::string> bodies;
    for (int i = 0; i < 50; ++i) bodies.push_back("Subject: " + std::to_string(i) + "\n\n.line\n..\nbody\n");
    std::vector<std::string_view> views(bodies.begin(), bodies.end());
    auto names = writer->deliver(views);
    ASSERT_TRUE(names) << names.error().message;
    ASSERT_EQ(names->size(), 50u);
    EXPECT_EQ(std::set<std::string>(names->begin(), names->end()).size(), 50u);
    EXPECT_EQ(count(dir_ / "tmp"), 0u);
    EXPECT_EQ(count(dir_ / "new"), 50u);
    for (std::size_t i = 0; i < names->size(); ++i) EXPECT_EQ(read(dir_ / "new" / (*names)[i]), bodies[i]);
}

TEST_F(MaildirWriterTest, NameFollowsTheSpecAndCarriesSizes)
{
    auto writer = MaildirWriter::open(dir_);
    ASSERT_TRUE(writer);
    auto name = writer->deliver_one("a\nbc\n");
    ASSERT_TRUE(name);
    // <sec>.M<usec>P<pid>Q<n>.<host>,S=5,W=7
    EXPECT_NE(name->find(".M"), std::string::npos);
    EXPECT_NE(name->find("P" + std::to_string(::getpid()) + "Q"), std::string::npos);
    EXPECT_TRUE(name->ends_with(",S=5,W=7")) << *name;
    EXPECT_EQ(name->find('/'), std::string::npos);
    EXPECT_EQ(name->find(':'), std::string::npos);
}

TEST_F(MaildirWriterTest, HostAndSizeHelpers)
{
    EXPECT_EQ(maildir_safe_host("a/b:c,d"), "a\\057b\\072c\\054d");
    EXPECT_EQ(maildir_virtual_size(""), 0u);
    EXPECT_EQ(maildir_virtual_size("a\n"), 3u);
    EXPECT_EQ(maildir_virtual_size("a\r\nb\n"), 6u);
    EXPECT_EQ(maildir_virtual_size("\n\n"), 4u);
}

TEST_F(MaildirWriterTest, FailedBatchLeavesNothingBehind)
{
    auto writer = MaildirWriter::open(dir_);
    ASSERT_TRUE(writer);
    // new/ replaced by a file: every rename fails.
    fs::remove(dir_ / "new");
    std::ofstream(dir_ / "new") << "";
    auto names = writer->deliver({"one\n", "two\n"});
    ASSERT_FALSE(names);
    EXPECT_NE(names.error().message.find("rename"), std::string::npos) << names.error().message;
    EXPECT_EQ(count(dir_ / "tmp"), 0u);
}

TEST_F(MaildirWriterTest, UnwritableTmpIsAnError)
{
    if (::geteuid() == 0) GTEST_SKIP() << "root ignores directory permissions";
    auto writer = MaildirWriter::open(dir_);
    ASSERT_TRUE(writer);
    ::chmod((dir_ / "tmp").c_str(), 0500);
    auto names = writer->deliver({"x\n"});
    ::chmod((dir_ / "tmp").c_str(), 0700);
    ASSERT_FALSE(names);
    EXPECT_EQ(count(dir_ / "new"), 0u);
}

TEST_F(MaildirWriterTest, EmptyBatchIsFine)
{
    auto writer = MaildirWriter::open(dir_);
    ASSERT_TRUE(writer);
    auto names = writer->deliver({});
    ASSERT_TRUE(names);
    EXPECT_TRUE(names->empty());
}

// The POP3 fetcher tags each file (issue 7: a kill between the Maildir write
// and the UIDL commit must not put the message there twice on the re-fetch).
TEST_F(MaildirWriterTest, TaggedFilesAreFoundInNew)
{
    auto writer = MaildirWriter::open(dir_);
    ASSERT_TRUE(writer);
    auto names = writer->deliver({"one\n", "two\n", "three\n"}, {"00ff00ff00ff00ff", "", "0123456789abcdef"});
    ASSERT_TRUE(names);
    ASSERT_EQ(names->size(), 3u);
    EXPECT_NE((*names)[0].find("X00ff00ff00ff00ff."), std::string::npos) << (*names)[0];
    EXPECT_EQ((*names)[1].find('X'), std::string::npos) << (*names)[1];
    auto untagged = writer->deliver_one("four\n");
    ASSERT_TRUE(untagged);

    const auto tagged = writer->tagged_in_new();
    ASSERT_EQ(tagged.size(), 2u);
    EXPECT_EQ(tagged.at("00ff00ff00ff00ff"), (*names)[0]);
    EXPECT_EQ(tagged.at("0123456789abcdef"), (*names)[2]);
    EXPECT_EQ(read(dir_ / "new" / tagged.at("0123456789abcdef")), "three\n");
}

}  // namespace
}  // namespace mailqd
