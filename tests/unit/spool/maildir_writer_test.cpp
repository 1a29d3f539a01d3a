#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>
#include <fstream>
#include <set>
#include <sstream>

#include "spool/maildir_writer.hpp"

namespace mailqd {
namespace {

namespace fs = std::filesystem;

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
    EXPECT_NE(writer.error().message.find("not a directory"), std::string::npos);
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
