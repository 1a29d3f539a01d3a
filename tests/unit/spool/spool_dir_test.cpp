// The spool directory door in a temporary directory: reading, envelope and
// owner, the file identity key, oversize and bad files, quarantine.
#include "spool/spool_dir.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace mailqd {
namespace {

namespace fs = std::filesystem;

class SpoolIntake : public ::testing::Test {
protected:
    void SetUp() override
    {
        char tmpl[] = "/tmp/mailqd-spool-test-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        base_ = tmpl;
        auto spool = SpoolDir::open(base_ / "spool");
        ASSERT_TRUE(spool) << spool.error().message;
        spool_.emplace(std::move(*spool));
    }
    void TearDown() override { fs::remove_all(base_); }

    fs::path put(const std::string& name, const std::string& content)
    {
        fs::path p = spool_->incoming() / name;
        std::ofstream(p, std::ios::binary) << content;
        return p;
    }
    static std::string slurp(const fs::path& p)
    {
        std::ifstream in(p, std::ios::binary);
        std::stringstream s;
        s << in.rdbuf();
        return s.str();
    }
    Result<NewMessage> read(const std::string& name, std::uint64_t max = 1 << 20)
    {
        return spool_->read(name, max, "host.example");
    }
    fs::path bad(const std::string& name) const { return base_ / "spool" / "bad" / name; }

    fs::path base_;
    std::optional<SpoolDir> spool_;
};

std::string me()
{
    struct passwd* pw = ::getpwuid(::getuid());
    return pw ? pw->pw_name : std::to_string(::getuid());
}

TEST_F(SpoolIntake, OpenCreatesDirectories)
{
    for (const char* d : {"tmp", "incoming", "bad"}) {
        struct stat st {};
        ASSERT_EQ(::stat((base_ / "spool" / d).c_str(), &st), 0) << d;
        EXPECT_TRUE(S_ISDIR(st.st_mode));
    }
    EXPECT_TRUE(SpoolDir::open(base_ / "spool"));  // again: already there is fine
    std::ofstream(base_ / "file") << "x";
    EXPECT_FALSE(SpoolDir::open(base_ / "file"));
}

// The envelope comes from the headers; the text stays as written (CRLF
// lines) for the daemon's Intake to prepare, which drops Bcc as asked.
TEST_F(SpoolIntake, ReadTakesEnvelopeAndAsksForBccRemoval)
{
    fs::path p = put("m1",
                     "From: App <app@example.com>\nTo: a@example.org\nBcc: hidden@example.net\n"
                     "Subject: hi\n\nbody\n");
    auto m = read("m1");
    ASSERT_TRUE(m) << m.error().message;
    EXPECT_EQ(m->sender, "app@example.com");
    EXPECT_EQ(m->recipients, (std::vector<std::string>{"a@example.org", "hidden@example.net"}));
    EXPECT_EQ(m->door, "spool");
    EXPECT_EQ(m->submitter, me());
    EXPECT_TRUE(m->remove_bcc);
    EXPECT_EQ(m->data,
              "From: App <app@example.com>\r\nTo: a@example.org\r\nBcc: hidden@example.net\r\n"
              "Subject: hi\r\n\r\nbody\r\n");

    struct stat st {};
    ASSERT_EQ(::stat(p.c_str(), &st), 0);
    std::string key = "m1:" + std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + ":" +
                      std::to_string(st.st_size) + ":" +
                      std::to_string(st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec);
    EXPECT_EQ(m->spool_key, key);
    // The same file read again (after a crash before unlink) has the same key.
    auto again = read("m1");
    ASSERT_TRUE(again);
    EXPECT_EQ(again->spool_key, key);
}

TEST_F(SpoolIntake, UnqualifiedAndMissingSender)
{
    put("m", "To: root\n\nbody\n");
    auto m = read("m");
    ASSERT_TRUE(m) << m.error().message;
    EXPECT_EQ(m->recipients, (std::vector<std::string>{"root@host.example"}));
    EXPECT_EQ(m->sender, me() + "@host.example");
}

TEST_F(SpoolIntake, BadMessages)
{
    struct Case {
        std::string name, content, error;
    };
    const Case cases[] = {
        {"norcpt", "From: a@example.com\n\nbody\n", "no recipients in To:, Cc: or Bcc:"},
        {"nohdr", "just a body\n", "line 1 of the header is not a field"},
        {"badaddr", "To: <x@y\n\n", "To: cannot parse '<x@y': expected '>' at the end"},
        {"big", "To: a@example.com\n\n" + std::string(200, 'x') + "\n",
         "message is 220 bytes, over the limit of 100"},
    };
    for (const auto& c : cases) {
        put(c.name, c.content);
        auto m = read(c.name, 100);
        ASSERT_FALSE(m) << c.name;
        EXPECT_EQ(m.error().kind, ErrorKind::bad_message) << c.name;
        EXPECT_EQ(m.error().message, c.error) << c.name;
    }
}

TEST_F(SpoolIntake, AtMostMaxRecipients)
{
    std::string to = "To: r0@example.org";
    for (std::size_t i = 1; i <= max_recipients; ++i) to += ",\n r" + std::to_string(i) + "@example.org";
    put("many", "From: a@example.com\n" + to + "\n\nbody\n");
    auto m = read("many");
    ASSERT_FALSE(m);
    EXPECT_EQ(m.error().kind, ErrorKind::bad_message);
    EXPECT_EQ(m.error().message, "1001 recipients; at most 1000");
}

TEST_F(SpoolIntake, RefusesLinksAndOddFiles)
{
    std::ofstream(base_ / "secret") << "To: a@example.com\n\nsecret\n";
    fs::create_symlink(base_ / "secret", spool_->incoming() / "sym");
    fs::create_hard_link(base_ / "secret", spool_->incoming() / "hard");
    ASSERT_EQ(::mkfifo((spool_->incoming() / "fifo").c_str(), 0600), 0);

    auto sym = read("sym");
    ASSERT_FALSE(sym);
    EXPECT_EQ(sym.error().kind, ErrorKind::bad_message);
    EXPECT_EQ(sym.error().message, "is a symbolic link");
    auto hard = read("hard");
    ASSERT_FALSE(hard);
    EXPECT_EQ(hard.error().message, "has 2 hard links, a spool file must have one");
    auto fifo = read("fifo");
    ASSERT_FALSE(fifo);
    EXPECT_EQ(fifo.error().message, "not a regular file");

    // Quarantine moves the link itself, never what it points to.
    ASSERT_TRUE(spool_->quarantine("sym", "is a symbolic link"));
    EXPECT_TRUE(fs::is_symlink(bad("sym")));
    EXPECT_TRUE(fs::exists(base_ / "secret"));
}

TEST_F(SpoolIntake, VanishedAndInvalidNames)
{
    auto gone = read("nothing-here");
    ASSERT_FALSE(gone);
    EXPECT_EQ(gone.error().kind, ErrorKind::not_found);
    for (const char* name : {"", ".", "..", "../x", "a/b"}) {
        EXPECT_FALSE(read(name)) << name;
        EXPECT_FALSE(spool_->remove(name)) << name;
        EXPECT_FALSE(spool_->quarantine(name, "x")) << name;
    }
    auto q = spool_->quarantine("nothing-here", "x");
    ASSERT_FALSE(q);
    EXPECT_EQ(q.error().kind, ErrorKind::not_found);
}

TEST_F(SpoolIntake, ScanOldestFirstSkippingDotFiles)
{
    const std::pair<const char*, long> files[] = {{"c", 300}, {"a", 100}, {".hidden", 50}, {"b", 200}};
    for (const auto& [name, mtime] : files) {
        fs::path p = put(name, "To: a@example.com\n\n");
        struct timespec times[2] = {{mtime, 0}, {mtime, 0}};
        ASSERT_EQ(::utimensat(AT_FDCWD, p.c_str(), times, 0), 0);
    }
    fs::create_directory(spool_->incoming() / "subdir");
    EXPECT_EQ(spool_->scan(), (std::vector<std::string>{"a", "b", "c"}));
}

TEST_F(SpoolIntake, RemoveAndQuarantine)
{
    put("done", "To: a@example.com\n\n");
    EXPECT_TRUE(spool_->remove("done"));
    EXPECT_FALSE(fs::exists(spool_->incoming() / "done"));
    EXPECT_TRUE(spool_->remove("done"));  // already gone is fine

    put("x", "first");
    ASSERT_TRUE(spool_->quarantine("x", "no recipients in To:, Cc: or Bcc:"));
    EXPECT_FALSE(fs::exists(spool_->incoming() / "x"));
    EXPECT_EQ(slurp(bad("x")), "first");
    EXPECT_EQ(slurp(bad("x.reason")), "no recipients in To:, Cc: or Bcc:\n");

    put("x", "second");  // same name again: a suffix, nothing overwritten
    ASSERT_TRUE(spool_->quarantine("x", "multi\nline\rreason"));
    EXPECT_EQ(slurp(bad("x")), "first");
    EXPECT_EQ(slurp(bad("x.1")), "second");
    EXPECT_EQ(slurp(bad("x.1.reason")), "multi line reason\n");

    put("y.reason", "looks like a reason file");
    ASSERT_TRUE(spool_->quarantine("y.reason", "odd name"));
    EXPECT_EQ(slurp(bad("y.reason.1")), "looks like a reason file");
    EXPECT_EQ(slurp(bad("y.reason.1.reason")), "odd name\n");
}

}  // namespace
}  // namespace mailqd
