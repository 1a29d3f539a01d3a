// Group commit: many submitters share transactions, each is told the outcome
// only after its commit, and one bad job does not undo its neighbours.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

#include "spool/store_writer.hpp"
#include "tests/unit/spool/store_test_support.hpp"

namespace mailqd {
namespace {

using test::make_message;
using test::TempDir;

std::unique_ptr<StoreWriter> open_writer(const std::filesystem::path& db, std::size_t max_batch = 512)
{
    auto writer = StoreWriter::open(db, max_batch);
    if (!writer) {
        ADD_FAILURE() << writer.error().message;
        return nullptr;
    }
    return std::move(*writer);
}

// A job that queues a message and reports its ID.
StoreWriter::Job accept_job(std::shared_ptr<std::string> id, NewMessage m = make_message())
{
    return [id, m = std::move(m)](Store& store) -> Status {
        auto accepted = store.accept(m, now_seconds());
        if (!accepted) return accepted.error();
        *id = *accepted;
        return {};
    };
}

// Holds the writer thread inside a job until opened, so the posts made
// meanwhile are sure to land in one batch.
class Gate {
public:
    StoreWriter::Job job()
    {
        return [this](Store&) -> Status {
            entered_.set_value();
            std::unique_lock lock(mutex_);
            cv_.wait(lock, [this] { return open_; });
            return {};
        };
    }
    void wait_entered() { entered_.get_future().wait(); }
    void open()
    {
        std::lock_guard lock(mutex_);
        open_ = true;
        cv_.notify_all();
    }

private:
    std::promise<void> entered_;
    std::mutex mutex_;
    std::condition_variable cv_;
    bool open_ = false;
};

TEST(StoreWriter, ConcurrentSubmissionsShareCommitsAndAreDurable)
{
    TempDir dir;
    constexpr int threads = 8, per_thread = 200;
    constexpr std::uint64_t total = threads * per_thread;
    std::mutex mutex;
    std::vector<std::string> ids;
    std::atomic<int> failures{0};
    {
        auto writer = open_writer(dir.db());
        ASSERT_TRUE(writer);
        std::vector<std::thread> submitters;
        for (int t = 0; t < threads; ++t)
            submitters.emplace_back([&] {
                for (int i = 0; i < per_thread; ++i) {
                    auto id = std::make_shared<std::string>();
                    writer->post(accept_job(id), [&, id](Status st) {
                        if (!st) ++failures;
                        std::lock_guard lock(mutex);
                        ids.push_back(*id);
                    });
                }
            });
        for (auto& s : submitters) s.join();
        while (writer->jobs() < total) std::this_thread::sleep_for(std::chrono::milliseconds(5));
        EXPECT_EQ(writer->jobs(), total);
        // Group commit: far fewer fsyncs than messages.
        EXPECT_GE(writer->commits(), 1u);
        EXPECT_LE(writer->commits() * 4, total) << writer->commits() << " commits";
    }
    EXPECT_EQ(failures.load(), 0);
    ASSERT_EQ(ids.size(), total);
    const std::set<std::string> acked(ids.begin(), ids.end());
    EXPECT_EQ(acked.size(), total);

    auto store = test::open_store(dir.db());
    auto listed = store->list(std::nullopt);
    ASSERT_TRUE(listed.ok());
    std::set<std::string> stored;
    for (const auto& m : *listed) stored.insert(m.id);
    EXPECT_EQ(stored, acked);
}

TEST(StoreWriter, SubmittersWaitingForTheirAckStillShareCommits)
{
    TempDir dir;
    auto writer = open_writer(dir.db());
    constexpr int threads = 8, per_thread = 50;
    std::vector<std::thread> submitters;
    for (int t = 0; t < threads; ++t)
        submitters.emplace_back([&] {
            for (int i = 0; i < per_thread; ++i) {
                std::promise<Status> acked;
                writer->post(accept_job(std::make_shared<std::string>()),
                             [&acked](Status st) { acked.set_value(std::move(st)); });
                EXPECT_TRUE(acked.get_future().get().ok());
            }
        });
    for (auto& s : submitters) s.join();
    EXPECT_EQ(writer->jobs(), std::uint64_t(threads * per_thread));
    EXPECT_LT(writer->commits(), writer->jobs());
}

TEST(StoreWriter, DoneRunsAfterTheCommitIsVisible)
{
    TempDir dir;
    auto writer = open_writer(dir.db());
    auto reader = test::open_store(dir.db());
    auto id = std::make_shared<std::string>();
    std::promise<bool> visible;
    writer->post(accept_job(id), [&](Status st) {
        ASSERT_TRUE(st.ok());
        visible.set_value(reader->show(*id).ok());  // another connection sees it
    });
    EXPECT_TRUE(visible.get_future().get());
}

TEST(StoreWriter, AFailingJobRollsBackOnlyItself)
{
    TempDir dir;
    auto writer = open_writer(dir.db());
    Gate gate;
    writer->post(gate.job(), {});
    gate.wait_entered();

    auto good1 = std::make_shared<std::string>(), bad = std::make_shared<std::string>(),
         good2 = std::make_shared<std::string>();
    std::vector<std::promise<Status>> outcomes(4);
    writer->post(accept_job(good1), [&](Status st) { outcomes[0].set_value(st); });
    writer->post(
        [bad](Store& store) -> Status {
            auto id = store.accept(make_message(), now_seconds());  // written, then undone
            *bad = *id;
            return make_error(ErrorKind::bad_message, "refused after writing");
        },
        [&](Status st) { outcomes[1].set_value(st); });
    writer->post([](Store&) -> Status { throw std::runtime_error("boom"); },
                 [&](Status st) { outcomes[2].set_value(st); });
    writer->post(accept_job(good2), [&](Status st) { outcomes[3].set_value(st); });
    gate.open();

    EXPECT_TRUE(outcomes[0].get_future().get().ok());
    auto refused = outcomes[1].get_future().get();
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().kind, ErrorKind::bad_message);
    auto thrown = outcomes[2].get_future().get();
    ASSERT_FALSE(thrown.ok());
    EXPECT_NE(thrown.error().message.find("boom"), std::string::npos);
    EXPECT_TRUE(outcomes[3].get_future().get().ok());
    EXPECT_EQ(writer->commits(), 2u);  // the gate's, then one for all four jobs
    writer.reset();

    auto store = test::open_store(dir.db());
    EXPECT_TRUE(store->show(*good1).ok());
    EXPECT_TRUE(store->show(*good2).ok());
    EXPECT_EQ(store->show(*bad).error().kind, ErrorKind::not_found);
    EXPECT_EQ(store->list(std::nullopt)->size(), 2u);
}

TEST(StoreWriter, BatchesAreCappedAtMaxBatch)
{
    TempDir dir;
    auto writer = open_writer(dir.db(), 3);
    Gate gate;
    writer->post(gate.job(), {});
    gate.wait_entered();
    for (int i = 0; i < 9; ++i) writer->post(accept_job(std::make_shared<std::string>()), {});
    gate.open();
    while (writer->jobs() < 10) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    EXPECT_EQ(writer->commits(), 4u);  // the gate, then 3 + 3 + 3
}

// Every job acknowledged ok is on disk; every job refused left nothing.
TEST(StoreWriter, AFullDiskIsTemporaryAndAcksMatchWhatIsStored)
{
    TempDir dir;
    auto writer = open_writer(dir.db());
    Gate gate;
    writer->post(gate.job(), {});
    gate.wait_entered();
    writer->post([](Store& store) { return store.limit_size_for_tests(1); }, {});
    struct Posted {
        std::shared_ptr<std::string> id = std::make_shared<std::string>();
        std::promise<Status> outcome;
    };
    std::vector<Posted> posted(6);
    for (std::size_t i = 0; i < posted.size(); ++i) {
        auto m = make_message();
        if (i % 2 == 1) m.data.assign(512 * 1024, 'x');
        writer->post(accept_job(posted[i].id, m),
                     [&posted, i](Status st) { posted[i].outcome.set_value(st); });
    }
    gate.open();
    std::vector<Status> outcomes;
    for (auto& p : posted) outcomes.push_back(p.outcome.get_future().get());
    writer.reset();

    auto store = test::open_store(dir.db());
    int refused = 0;
    for (std::size_t i = 0; i < posted.size(); ++i) {
        if (outcomes[i].ok()) {
            EXPECT_TRUE(store->show(*posted[i].id).ok()) << i;
            continue;
        }
        ++refused;
        EXPECT_EQ(outcomes[i].error().kind, ErrorKind::temporary) << outcomes[i].error().message;
        if (!posted[i].id->empty()) {
            EXPECT_FALSE(store->show(*posted[i].id).ok()) << i;
        }
    }
    EXPECT_GE(refused, 3);  // at least the big ones
    EXPECT_FALSE(outcomes[1].ok());
}

TEST(StoreWriter, DestructorFinishesEverythingPosted)
{
    TempDir dir;
    std::atomic<int> done{0};
    {
        auto writer = open_writer(dir.db());
        for (int i = 0; i < 50; ++i)
            writer->post(accept_job(std::make_shared<std::string>()), [&](Status st) {
                EXPECT_TRUE(st.ok());
                ++done;
            });
    }
    EXPECT_EQ(done.load(), 50);
    EXPECT_EQ(test::open_store(dir.db())->list(std::nullopt)->size(), 50u);
}

TEST(StoreWriter, CheckpointsKeepTheWalNearItsThreshold)
{
    TempDir dir;
    auto writer = open_writer(dir.db());
    NewMessage big = make_message();
    big.data.append(8 * 1024, 'x');  // a few WAL frames per commit
    // One commit at a time: about 2500 frames in all, so without
    // checkpoints the WAL would grow past 10 MB.
    for (int i = 0; i < 400; ++i) {
        std::promise<Status> committed;
        writer->post(accept_job(std::make_shared<std::string>(), big),
                     [&](Status st) { committed.set_value(std::move(st)); });
        ASSERT_TRUE(committed.get_future().get().ok());
    }
    EXPECT_GE(writer->checkpoints(), 1u);
    // The WAL starts over after each checkpoint; its file keeps the
    // largest size it reached: the threshold plus one commit's frames.
    const auto wal = std::filesystem::file_size(dir.path() / "queue.db-wal");
    EXPECT_LT(wal, (StoreWriter::checkpoint_frames + 50) * (4096 + 24) + 32);
    EXPECT_EQ(test::open_store(dir.db())->list(std::nullopt)->size(), 400u);
}

TEST(StoreWriter, OpenReportsABadPath)
{
    TempDir dir;
    auto writer = StoreWriter::open(dir.path());  // a directory, not a file
    EXPECT_FALSE(writer.ok());
}

}  // namespace
}  // namespace mailqd
