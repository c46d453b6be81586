// The result of a codec's parse(): the typed value, or the text saying why the element is not
// a valid payload (DESIGN §3: a decode error on an IQ becomes bad-request with this text).
#pragma once

#include <stdexcept>
#include <string>
#include <utility>
#include <variant>

namespace parley::xep {

// Why an element did not decode.
struct ParseError {
  std::string text;
};

template <class T>
class Parsed {
 public:
  Parsed(T value) : v_(std::in_place_index<0>, std::move(value)) {}           // NOLINT: implicit
  Parsed(ParseError error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  // The value; throws std::logic_error when there is none (a caller bug, not bad input).
  const T& value() const& {
    if (!ok()) throw std::logic_error("Parsed::value() on an error: " + error());
    return std::get<0>(v_);
  }
  T&& value() && {
    if (!ok()) throw std::logic_error("Parsed::value() on an error: " + error());
    return std::get<0>(std::move(v_));
  }
  const T& operator*() const& { return value(); }
  const T* operator->() const { return &value(); }

  // The reason, or "" for a value.
  const std::string& error() const {
    static const std::string none;
    return ok() ? none : std::get<1>(v_).text;
  }

 private:
  std::variant<T, ParseError> v_;
};

inline ParseError parse_error(std::string text) {
  return ParseError{std::move(text)};
}

}  // namespace parley::xep
