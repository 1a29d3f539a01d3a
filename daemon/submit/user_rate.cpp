// See user_rate.hpp.
#include "daemon/submit/user_rate.hpp"

namespace mailqd {

bool UserRate::allows(uid_t uid, Clock::time_point now)
{
    if (limit_ == 0) return true;
    auto it = recent_.find(uid);
    if (it == recent_.end()) return true;
    auto& times = it->second;
    while (!times.empty() && now - times.front() >= window) times.pop_front();
    if (times.empty()) {
        recent_.erase(it);
        return true;
    }
    return times.size() < limit_;
}

void UserRate::record(uid_t uid, Clock::time_point now)
{
    if (limit_ == 0) {
        recent_.clear();
        return;
    }
    auto& times = recent_[uid];
    times.push_back(now);
    // A lowered limit (reload) needs no more history than it counts.
    while (times.size() > limit_) times.pop_front();
}

}  // namespace mailqd
