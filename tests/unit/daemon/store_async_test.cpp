// write_store / Intake: values come back after the commit, on the io
// thread, concurrent callers share commits, and nothing captured by a job
// is destroyed twice (the GCC 12 coroutine-temporary trap).
#include <gtest/gtest.h>

#include <stdlib.h>
#include <filesystem>
#include <set>
#include <thread>

#include "daemon/intake.hpp"
#include "daemon/logging.hpp"
#include "daemon/net/spawn.hpp"
#include "daemon/store_async.hpp"

namespace mailqd {
namespace {

class StoreAsyncTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        char tmpl[] = "/tmp/store_async_test.XXXXXX";
        dir_ = ::mkdtemp(tmpl);
        auto writer = StoreWriter::open(dir_ / "queue.db");
        ASSERT_TRUE(writer.ok()) << writer.error().message;
        writer_ = std::move(*writer);
        auto reader = Store::open(dir_ / "queue.db");
        ASSERT_TRUE(reader.ok()) << reader.error().message;
        reader_ = std::move(*reader);
    }
    void TearDown() override
    {
        writer_.reset();
        reader_.reset();
        std::filesystem::remove_all(dir_);
    }

    static NewMessage message(int n)
    {
        NewMessage m;
        m.sender = "a" + std::to_string(n) + "@example.com";
        m.recipients = {"b@example.org"};
        m.data = "Subject: " + std::to_string(n) + "\r\n\r\nbody\r\n";
        m.submitter = "tester";
        m.door = "socket";
        return m;
    }

    std::filesystem::path dir_;
    std::unique_ptr<StoreWriter> writer_;
    std::unique_ptr<Store> reader_;
    asio::io_context io_;
};

TEST_F(StoreAsyncTest, ValueArrivesAfterCommitOnTheIoThread)
{
    const auto io_thread = std::this_thread::get_id();
    std::optional<Result<std::string>> got;
    auto token = std::make_shared<int>(7);
    auto body = [&]() -> awaitable<void> {
        auto job = [token](Store& store) { return store.accept(message(1), now_seconds()); };
        auto op = write_store(*writer_, std::move(job));
        got.emplace(co_await std::move(op));
        EXPECT_EQ(std::this_thread::get_id(), io_thread);
    };
    spawn_logged(io_.get_executor(), body(), "test");
    io_.run();  // returns only once the completion came back
    ASSERT_TRUE(got.has_value());
    ASSERT_TRUE(got->ok()) << got->error().message;
    auto shown = reader_->show(**got);  // another connection sees it: committed
    ASSERT_TRUE(shown.ok());
    EXPECT_EQ(shown->sender, "a1@example.com");
    EXPECT_EQ(token.use_count(), 1);  // the job's copy destroyed exactly once
}

TEST_F(StoreAsyncTest, JobErrorComesBackAndRollsBackOnlyThatJob)
{
    std::optional<Status> failed;
    std::optional<Result<std::string>> fine;
    auto bad = [&]() -> awaitable<void> {
        auto job = [](Store& store) -> Status {
            auto id = store.accept(message(2), now_seconds());
            if (!id) return id.error();
            return make_error(ErrorKind::temporary, "disk full, pretend");
        };
        auto op = write_store(*writer_, std::move(job));
        failed.emplace(co_await std::move(op));
    };
    auto good = [&]() -> awaitable<void> {
        auto job = [](Store& store) { return store.accept(message(3), now_seconds()); };
        auto op = write_store(*writer_, std::move(job));
        fine.emplace(co_await std::move(op));
    };
    spawn_logged(io_.get_executor(), bad(), "bad");
    spawn_logged(io_.get_executor(), good(), "good");
    io_.run();
    ASSERT_TRUE(failed && !failed->ok());
    EXPECT_EQ(failed->error().kind, ErrorKind::temporary);
    ASSERT_TRUE(fine && fine->ok());
    auto all = reader_->list(std::nullopt);
    ASSERT_TRUE(all.ok());
    ASSERT_EQ(all->size(), 1u);
    EXPECT_EQ(all->front().sender, "a3@example.com");
}

TEST_F(StoreAsyncTest, ConcurrentAcceptsShareCommits)
{
    QueueEvents events;
    int changed = 0;
    events.on_changed([&] { ++changed; });
    Intake intake(*writer_, events, "host.example");
    constexpr int n = 200;
    std::set<std::string> ids;
    // A lambda coroutine's captures die with the closure, which the loop
    // destroys at once: the coroutine takes everything as parameters.
    auto one = [](Intake& intake, std::set<std::string>& ids, int i) -> awaitable<void> {
        auto op = intake.accept(message(i));
        auto id = co_await std::move(op);
        EXPECT_TRUE(id.ok());
        if (id) ids.insert(*id);
    };
    for (int i = 0; i < n; ++i) spawn_logged(io_.get_executor(), one(intake, ids, i), "accept");
    io_.run();
    EXPECT_EQ(ids.size(), static_cast<std::size_t>(n));
    EXPECT_EQ(changed, n);
    EXPECT_EQ(intake.in_flight(), 0u);
    EXPECT_EQ(intake.accepted(), static_cast<std::uint64_t>(n));
    EXPECT_GE(writer_->jobs(), static_cast<std::uint64_t>(n));
    EXPECT_LT(writer_->commits(), writer_->jobs() / 2);  // group commit at work
}

// Every door hands its message as received; Intake prepares it once, on the
// writer's thread, before the store sees it.
TEST_F(StoreAsyncTest, IntakePreparesEveryMessageForTheQueue)
{
    QueueEvents events;
    Intake intake(*writer_, events, "host.example");
    std::optional<Result<std::string>> kept, dropped, refused;
    auto one = [](Intake& intake, NewMessage m, std::optional<Result<std::string>>& out) -> awaitable<void> {
        auto op = intake.accept(std::move(m));
        out.emplace(co_await std::move(op));
    };
    NewMessage bare = message(1);
    bare.data = "Subject: x\nBcc: hidden@example.net\n\nbody\n";  // LF lines, no Date or Message-ID
    NewMessage from_headers = bare;
    from_headers.remove_bcc = true;
    NewMessage broken = message(3);
    broken.data = "not a header line\r\n\r\nbody\r\n";
    spawn_logged(io_.get_executor(), one(intake, bare, kept), "kept");
    spawn_logged(io_.get_executor(), one(intake, from_headers, dropped), "dropped");
    spawn_logged(io_.get_executor(), one(intake, broken, refused), "refused");
    io_.run();

    ASSERT_TRUE(kept && kept->ok());
    auto data = reader_->message_data(kept->value());
    ASSERT_TRUE(data.ok());
    EXPECT_EQ(data->rfind("Date: ", 0), 0u) << *data;
    EXPECT_NE(data->find("\r\nMessage-ID: <"), std::string::npos) << *data;
    EXPECT_NE(data->find("@host.example>\r\n"), std::string::npos) << *data;
    EXPECT_NE(data->find("Subject: x\r\nBcc: hidden@example.net\r\n\r\nbody\r\n"), std::string::npos)
        << *data;

    ASSERT_TRUE(dropped && dropped->ok());
    data = reader_->message_data(dropped->value());
    ASSERT_TRUE(data.ok());
    EXPECT_EQ(data->find("Bcc"), std::string::npos) << *data;
    EXPECT_NE(data->find("Subject: x\r\n\r\nbody\r\n"), std::string::npos) << *data;

    ASSERT_TRUE(refused && !refused->ok());
    EXPECT_EQ(refused->error().kind, ErrorKind::bad_message);
    EXPECT_EQ(intake.accepted(), 2u);
}

TEST(LogAddress, KeepsControlCharactersOut)
{
    EXPECT_EQ(log_address(""), "<>");
    EXPECT_EQ(log_address("a@b"), "<a@b>");
    EXPECT_EQ(log_address("a\r\nb@c"), "<a??b@c>");
}

}  // namespace
}  // namespace mailqd
