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

bool UserRate::take(uid_t uid, Clock::time_point now)
{
    if (limit_ == 0) {
        recent_.clear();  // a limit set later starts from nothing
        return true;
    }
    if (!allows(uid, now)) return false;
    auto& times = recent_[uid];
    times.push_back(now);
    // A lowered limit (reload) needs no more history than it counts.
    while (times.size() > limit_) times.pop_front();
    return true;
}

void UserRate::give_back(uid_t uid)
{
    auto it = recent_.find(uid);
    if (it == recent_.end()) return;
    if (!it->second.empty()) it->second.pop_back();
    if (it->second.empty()) recent_.erase(it);
}

}  // namespace mailqd
