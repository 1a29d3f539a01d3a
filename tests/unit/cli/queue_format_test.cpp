// The human tables of list, show, stats and fetch on fixed JSON and a fixed
// "now", so the output an admin reads at 3 a.m. stays as reviewed.
#include "cli/queue_format.hpp"

#include <gtest/gtest.h>

#include "cli/text_format.hpp"

namespace mailqd {
namespace {

TimePoint at(const char* text) { return *parse_time(text); }

const char* message_json = R"({
  "id":"7F3A2C","state":"deferred","received_at":"2026-11-23T08:00:00Z","size":2314,
  "sender":"app@example.com","submitter":"www-data",
  "recipients":[
    {"address":"b@example.org","state":"deferred","attempts":2,
     "next_attempt_at":"2026-11-23T08:04:00Z","last_reply":"451 4.3.0 try\u001b[2J later"},
    {"address":"c@example.org","state":"sent","attempts":1,"next_attempt_at":null,
     "last_reply":"250 2.0.0 Ok"}],
  "attempts":[{"at":"2026-11-23T08:01:00Z","relay":"default","recipient":"b@example.org",
               "reply":"451 4.3.0 try later"}]})";

TEST(TextFormat, AgesAndSizes)
{
    EXPECT_EQ(format_age(-5), "0s");
    EXPECT_EQ(format_age(45), "45s");
    EXPECT_EQ(format_age(180), "3m");
    EXPECT_EQ(format_age(7300), "2h");
    EXPECT_EQ(format_age(3 * 86400 + 5), "3d");
    EXPECT_EQ(format_size(512), "512");
    EXPECT_EQ(format_size(2314), "2.3K");
    EXPECT_EQ(format_size(12u << 20), "12M");
    EXPECT_EQ(format_size(1ull << 30), "1.0G");
    EXPECT_EQ(format_sender(""), "<>");
}

TEST(TextFormat, SanitizeReplacesControls)
{
    EXPECT_EQ(printable("ok\r\n\x1b[2Jx\x7f"), "ok???[2Jx?");
    EXPECT_EQ(printable("caf\xc3\xa9"), "caf\xc3\xa9");  // UTF-8 letters stay
    EXPECT_EQ(printable("a\xc2\x9b"
                        "b"),
              "a?b");  // C1 CSI goes
    EXPECT_EQ(pad_right("caf\xc3\xa9", 6), "caf\xc3\xa9  ");
}

TEST(QueueFormat, ListTable)
{
    Json messages = Json::array({Json::parse(message_json)});
    messages.push_back({{"id", "9B"},
                        {"state", "queued"},
                        {"received_at", "2026-11-23T07:00:00Z"},
                        {"size", 100},
                        {"sender", ""},
                        {"recipients", Json::array()}});
    std::string expected =
        "ID      AGE   SIZE   STATE     SENDER\n"
        "7F3A2C  3m    2.3K   deferred  app@example.com\n"
        "    deferred  b@example.org  (2 attempts, next in 1m)\n"
        "              451 4.3.0 try?[2J later\n"
        "    sent      c@example.org  (1 attempt)\n"
        "              250 2.0.0 Ok\n"
        "9B      1h    100    queued    <>\n"
        "-- 2 messages, 2.4K\n";
    EXPECT_EQ(render_list(messages, at("2026-11-23T08:03:00Z")), expected);
}

TEST(QueueFormat, EmptyQueue)
{
    EXPECT_EQ(render_list(Json::array(), now_seconds()), "Mail queue is empty\n");
}

TEST(QueueFormat, ShowMessage)
{
    std::string expected =
        "Queue ID:   7F3A2C\n"
        "State:      deferred\n"
        "Received:   2026-11-23T08:00:00Z (3m ago)\n"
        "Size:       2314 (2.3K)\n"
        "Sender:     app@example.com\n"
        "Submitter:  www-data\n"
        "\n"
        "Recipients:\n"
        "  deferred  b@example.org  (2 attempts, next in 1m)\n"
        "            451 4.3.0 try?[2J later\n"
        "  sent      c@example.org  (1 attempt)\n"
        "            250 2.0.0 Ok\n"
        "\n"
        "Attempts:\n"
        "  2026-11-23T08:01:00Z  default  b@example.org\n"
        "    451 4.3.0 try later\n";
    EXPECT_EQ(render_show(Json::parse(message_json), at("2026-11-23T08:03:00Z")), expected);
}

TEST(QueueFormat, ShowSurvivesMissingFields)
{
    std::string text = render_show(Json::object({{"id", 5}}), now_seconds());
    EXPECT_NE(text.find("Queue ID:   -\n"), std::string::npos);
    EXPECT_NE(text.find("Attempts: none\n"), std::string::npos);
}

TEST(QueueFormat, Stats)
{
    Json stats = Json::parse(R"({
      "queue":{"queued":0,"deferred":2,"held":0,"sent":10,"failed":1,"oldest_age_s":240},
      "relays":[{"name":"default","in_flight":0,"sent":10,"failed":1,"deferred":2,
                 "last_success_at":"2026-11-23T08:00:00Z","last_error":"421 busy"}],
      "mailboxes":[{"name":"qq","last_fetch_at":null,"fetched":40,"last_error":null}]})");
    std::string expected =
        "Queue:  0 queued, 2 deferred, 0 held, 10 sent, 1 failed; oldest 4m\n"
        "\n"
        "Relays:\n"
        "  default: 0 in flight, 10 sent, 1 failed, 2 deferred\n"
        "    last success: 2026-11-23T08:00:00Z (5m ago)\n"
        "    last error:   421 busy\n"
        "\n"
        "Mailboxes:\n"
        "  qq: 40 fetched\n"
        "    last fetch:   never\n";
    EXPECT_EQ(render_stats(stats, at("2026-11-23T08:05:00Z")), expected);
}

TEST(QueueFormat, Fetch)
{
    auto view = render_fetch(Json::parse(
        R"({"mailboxes":[{"name":"qq","new":3},{"name":"work","new":0,"error":null},
                         {"name":"bad","error":"-ERR auth\r\nfailed"}]})"));
    EXPECT_EQ(view.text, "qq: 3 new\nwork: 0 new\n");
    ASSERT_EQ(view.errors.size(), 1u);
    EXPECT_EQ(view.errors[0], "bad: -ERR auth??failed");
    EXPECT_EQ(render_fetch(Json::parse(R"({"qq":2})")).text, "qq: 2 new\n");
}

}  // namespace
}  // namespace mailqd
