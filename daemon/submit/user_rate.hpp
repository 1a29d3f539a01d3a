// submit.user_rate: each local user's accepted messages in the last minute,
// so one compromised account (a web app, a cron job gone wrong) cannot fill
// the queue and the relay's quota; other users are not affected. A sliding
// window, not a per-minute bucket, so a burst across a minute boundary does
// not get twice the rate. Used on the io thread only.
#pragma once

#include <sys/types.h>
#include <chrono>
#include <deque>
#include <map>

namespace mailqd {

class UserRate {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr std::chrono::seconds window{60};

    explicit UserRate(unsigned per_minute = 0) : limit_(per_minute) {}
    void set_limit(unsigned per_minute) { limit_ = per_minute; }  // on reload
    unsigned limit() const { return limit_; }

    // Whether uid may have one more message accepted now.
    bool allows(uid_t uid, Clock::time_point now = Clock::now());
    // allows(), and if so counts the message now, before its commit, so
    // the user's sessions committing at once cannot pass the limit together.
    bool take(uid_t uid, Clock::time_point now = Clock::now());
    // The commit after take() failed: the message does not count.
    void give_back(uid_t uid);

private:
    unsigned limit_;                                         // 0: unlimited
    std::map<uid_t, std::deque<Clock::time_point>> recent_;  // at most limit_ per uid
};

}  // namespace mailqd
