// The bytes of DATA all submit sessions together may hold in memory: each
// session claims what its message grows to, in steps, and gives it back
// when the message is committed or dropped. Past the budget a session reads
// on without keeping the text and answers 451 4.3.1, so many clients sending
// large messages at once slow down instead of pushing the daemon into the
// OOM killer. One user may hold three quarters of it, so the others are
// still served. Used on the io thread only.
#pragma once

#include <sys/types.h>
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>

namespace mailqd {

class DataBudget {
public:
    // At least two messages of the largest size at once, and never below
    // 256 MiB: the budget bounds abuse, not ordinary traffic.
    static std::size_t for_message_size(std::uint64_t max_message_size)
    {
        const std::uint64_t two = 2 * max_message_size + (1 << 20);
        return static_cast<std::size_t>(std::max<std::uint64_t>(two, 256ull << 20));
    }

    explicit DataBudget(std::size_t total) : total_(total) {}
    void set_total(std::size_t total) { total_ = total; }  // on reload; claims already made stay
    std::size_t in_use() const { return in_use_; }

    bool take(uid_t user, std::size_t n)
    {
        std::size_t& mine = by_user_[user];
        const std::size_t user_share = total_ - total_ / 4;
        if (n > total_ || in_use_ > total_ - n || n > user_share || mine > user_share - n) return false;
        in_use_ += n;
        mine += n;
        return true;
    }
    void give(uid_t user, std::size_t n)
    {
        auto it = by_user_.find(user);
        if (it == by_user_.end()) return;
        n = std::min(n, it->second);
        it->second -= n;
        in_use_ -= n;
        if (it->second == 0) by_user_.erase(it);
    }

private:
    std::size_t total_;
    std::size_t in_use_ = 0;
    std::map<uid_t, std::size_t> by_user_;
};

// One session's share, given back when it goes out of scope.
class DataClaim {
public:
    // The share grows in steps of this, ahead of the text.
    static constexpr std::size_t step = 256 << 10;

    DataClaim(std::shared_ptr<DataBudget> budget, uid_t user) : budget_(std::move(budget)), user_(user) {}
    ~DataClaim() { release(); }
    DataClaim(const DataClaim&) = delete;
    DataClaim& operator=(const DataClaim&) = delete;

    // Makes the share cover `bytes`; false when the budget has no room.
    bool cover(std::size_t bytes)
    {
        if (!budget_ || bytes <= claimed_) return true;
        const std::size_t more = bytes - claimed_ + step;
        if (!budget_->take(user_, more)) return false;
        claimed_ += more;
        return true;
    }
    void release()
    {
        if (budget_) budget_->give(user_, claimed_);
        claimed_ = 0;
    }

private:
    std::shared_ptr<DataBudget> budget_;
    uid_t user_;
    std::size_t claimed_ = 0;
};

}  // namespace mailqd
