// Purger: done messages older than keep_done go, others stay, and an empty
// queue leaves no timer behind (io_context::run returns).
#include <gtest/gtest.h>

#include <stdlib.h>
#include <filesystem>

#include "daemon/purger.hpp"

namespace mailqd {
namespace {

NewMessage message(const std::string& sender)
{
    NewMessage m;
    m.sender = sender;
    m.recipients = {"b@example.org"};
    m.data = "Subject: x\r\n\r\nbody\r\n";
    m.submitter = "tester";
    m.door = "socket";
    return m;
}

class PurgerTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        char tmpl[] = "/tmp/purger_test.XXXXXX";
        dir_ = ::mkdtemp(tmpl);
        writer_ = std::move(*StoreWriter::open(dir_ / "queue.db"));
        reader_ = std::move(*Store::open(dir_ / "queue.db"));
    }
    void TearDown() override
    {
        writer_.reset();
        reader_.reset();
        std::filesystem::remove_all(dir_);
    }

    // Accepts a message and marks its recipient sent at done_at.
    std::string sent_message(const std::string& sender, TimePoint done_at)
    {
        auto id = reader_->accept(message(sender), done_at - std::chrono::seconds(10));
        EXPECT_TRUE(id.ok());
        auto shown = reader_->show(*id);
        AttemptOutcome outcome;
        outcome.recipient_id = shown->recipients.at(0).id;
        outcome.relay = "default";
        outcome.state = RecipientState::sent;
        outcome.reply = "250 ok";
        EXPECT_TRUE(reader_->record_attempt(outcome, done_at).ok());
        return *id;
    }

    std::filesystem::path dir_;
    std::unique_ptr<StoreWriter> writer_;
    std::unique_ptr<Store> reader_;
    asio::io_context io_;
};

TEST_F(PurgerTest, RemovesOnlyWhatIsOlderThanKeepDone)
{
    const TimePoint now = now_seconds();
    const auto old_id = sent_message("old@example.com", now - std::chrono::seconds(100));
    const auto new_id = sent_message("new@example.com", now);
    const auto waiting = reader_->accept(message("waiting@example.com"), now);

    Purger purger(io_.get_executor(), *writer_, *reader_, std::chrono::seconds(30),
                  std::chrono::milliseconds(10));
    purger.changed();
    io_.run_for(std::chrono::milliseconds(500));  // a done message remains: re-armed

    EXPECT_EQ(reader_->show(old_id).error().kind, ErrorKind::not_found);
    EXPECT_TRUE(reader_->show(new_id).ok());
    EXPECT_TRUE(reader_->show(*waiting).ok());
    purger.stop();
}

TEST_F(PurgerTest, NoDoneMessagesMeansNoTimerLeft)
{
    const auto waiting = reader_->accept(message("waiting@example.com"), now_seconds());
    Purger purger(io_.get_executor(), *writer_, *reader_, std::chrono::seconds(30),
                  std::chrono::milliseconds(10));
    purger.changed();
    const auto start = std::chrono::steady_clock::now();
    io_.run();  // would block for keep_done if a timer were left armed
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
    EXPECT_TRUE(reader_->show(*waiting).ok());
}

}  // namespace
}  // namespace mailqd
