#include "c2s/stream_management.h"

#include <charconv>

namespace parley::c2s {

void StreamManagement::sent(Unacked stanza) {
  queue_.push_back(std::move(stanza));
  ++sent_;
}

bool StreamManagement::acknowledge(uint32_t h) {
  uint32_t covered = h - acked_;  // modulo 2^32
  if (covered > unacked()) return false;
  for (uint32_t i = 0; i < covered; ++i) queue_[head_ + i] = Unacked{};
  head_ += covered;
  acked_ = h;
  compact();
  return true;
}

std::vector<StreamManagement::Unacked> StreamManagement::take_unacked() {
  std::vector<Unacked> out(std::make_move_iterator(queue_.begin() + static_cast<ptrdiff_t>(head_)),
                           std::make_move_iterator(queue_.end()));
  std::vector<Unacked>().swap(queue_);
  head_ = 0;
  sent_ = acked_;
  return out;
}

void StreamManagement::compact() {
  if (head_ == queue_.size()) {
    queue_.clear();
    head_ = 0;
    if (queue_.capacity() > 64) std::vector<Unacked>().swap(queue_);
  } else if (head_ > 32 && head_ * 2 > queue_.size()) {
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<ptrdiff_t>(head_));
    head_ = 0;
  }
}

uint32_t StreamManagement::received() {
  done_.push_back(false);
  return ++received_;
}

void StreamManagement::handled(uint32_t seq) {
  uint32_t index = seq - handled_ - 1;  // modulo 2^32
  if (index >= done_.size()) return;    // not pending (already counted, or never received)
  done_[index] = true;
  size_t n = 0;
  while (n < done_.size() && done_[n]) ++n;
  if (n == 0) return;
  done_.erase(done_.begin(), done_.begin() + static_cast<ptrdiff_t>(n));
  handled_ += static_cast<uint32_t>(n);
}

std::optional<uint32_t> StreamManagement::parse_h(std::string_view text) {
  uint32_t h = 0;
  if (text.empty()) return std::nullopt;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), h);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return h;
}

}  // namespace parley::c2s
