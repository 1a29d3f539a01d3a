// SpoolWatcher against a real spool directory and store: start-up scan,
// inotify pick-up, and a temporary failure (a full database) that leaves
// the file in place until a later rescan succeeds.
#include <gtest/gtest.h>

#include <stdlib.h>
#include <filesystem>
#include <fstream>

#include "daemon/spool_watcher.hpp"
#include "daemon/store_async.hpp"

namespace mailqd {
namespace {

namespace fs = std::filesystem;

class SpoolWatcherTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        char tmpl[] = "/tmp/spool_watcher_test.XXXXXX";
        dir_ = ::mkdtemp(tmpl);
        writer_ = std::move(*StoreWriter::open(dir_ / "queue.db"));
        reader_ = std::move(*Store::open(dir_ / "queue.db"));
        intake_ = std::make_unique<Intake>(*writer_, events_, "host.example");
        auto spool = SpoolDir::open(dir_ / "spool");
        ASSERT_TRUE(spool.ok());
        SpoolWatcherOptions options;
        options.hostname = "test.example";
        options.retry_after = std::chrono::seconds(1);
        watcher_ = std::make_unique<SpoolWatcher>(io_.get_executor(), std::move(*spool), *reader_, *intake_,
                                                  options);
    }
    void TearDown() override
    {
        watcher_.reset();
        writer_.reset();
        std::filesystem::remove_all(dir_);
    }

    void drop(const std::string& name, std::size_t body_size = 10)
    {
        const auto tmp = dir_ / "spool" / "tmp" / name;
        std::ofstream(tmp) << "From: a@example.com\nTo: b@example.org\n\n"
                           << std::string(body_size, 'x') << "\n";
        fs::rename(tmp, dir_ / "spool" / "incoming" / name);
    }
    bool incoming_empty() const { return fs::is_empty(dir_ / "spool" / "incoming"); }
    std::size_t queued() { return reader_->list(std::nullopt)->size(); }

    // Runs the loop until pred holds or the time is up.
    template <class Pred>
    bool run_until(Pred pred, std::chrono::milliseconds limit = std::chrono::seconds(5))
    {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        while (!pred() && std::chrono::steady_clock::now() < deadline) {
            io_.restart();
            io_.run_for(std::chrono::milliseconds(20));
        }
        return pred();
    }

    void limit_database(std::uint64_t pages)
    {
        std::optional<Status> done;
        auto job = [pages](Store& store) { return store.limit_size_for_tests(pages); };
        asio::co_spawn(
            io_,
            [&]() -> awaitable<void> {
                auto op = write_store(*writer_, job);
                done.emplace(co_await std::move(op));
            },
            asio::detached);
        ASSERT_TRUE(run_until([&] { return done.has_value(); }));
        ASSERT_TRUE(done->ok());
    }

    fs::path dir_;
    asio::io_context io_;
    QueueEvents events_;
    std::unique_ptr<StoreWriter> writer_;
    std::unique_ptr<Store> reader_;
    std::unique_ptr<Intake> intake_;
    std::unique_ptr<SpoolWatcher> watcher_;
};

TEST_F(SpoolWatcherTest, ScansAtStartThenFollowsInotify)
{
    drop("early");
    ASSERT_TRUE(watcher_->start().ok());
    ASSERT_TRUE(run_until([&] { return queued() == 1 && incoming_empty(); }));
    drop("late");
    ASSERT_TRUE(run_until([&] { return queued() == 2 && incoming_empty(); }));
    watcher_->stop();
}

TEST_F(SpoolWatcherTest, FullDatabaseLeavesTheFileForALaterRetry)
{
    ASSERT_TRUE(watcher_->start().ok());
    limit_database(1);
    drop("big", 256 * 1024);
    // The commit fails as temporary: the file stays, nothing goes to bad/.
    io_.restart();
    io_.run_for(std::chrono::milliseconds(300));
    EXPECT_EQ(queued(), 0u);
    EXPECT_TRUE(fs::exists(dir_ / "spool" / "incoming" / "big"));
    EXPECT_TRUE(fs::is_empty(dir_ / "spool" / "bad"));
    limit_database(0);
    // The retry timer rescans incoming/ and the file goes in.
    ASSERT_TRUE(run_until([&] { return queued() == 1 && incoming_empty(); }));
    EXPECT_TRUE(fs::is_empty(dir_ / "spool" / "bad"));
    watcher_->stop();
}

}  // namespace
}  // namespace mailqd
