// common/base64: RFC 4648 vectors, round trips of every length class, and strict padded decoding
// with errors that name the position (callers build field-path messages on them).
#include "common/base64.hpp"

#include <gtest/gtest.h>

namespace skiff {
namespace {

TEST(Base64, Rfc4648Vectors) {
  const std::pair<const char*, const char*> vectors[] = {{"", ""},
                                                         {"f", "Zg=="},
                                                         {"fo", "Zm8="},
                                                         {"foo", "Zm9v"},
                                                         {"foob", "Zm9vYg=="},
                                                         {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (auto [plain, encoded] : vectors) {
    EXPECT_EQ(base64_encode(plain), encoded);
    auto back = base64_decode(encoded);
    ASSERT_TRUE(back.ok()) << encoded << ": " << back.error().message();
    EXPECT_EQ(*back, plain);
  }
}

TEST(Base64, BinaryRoundTrips) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (size_t n : {0u, 1u, 2u, 3u, 31u, 32u, 33u, 256u}) {
    auto back = base64_decode(base64_encode(all.substr(0, n)));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, all.substr(0, n));
  }
}

TEST(Base64, StrictDecodingNamesThePosition) {
  auto e = base64_decode("Zm9v!mFy");
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.error().message().find("position 4"), std::string::npos) << e.error().message();
  EXPECT_EQ(e.error().code(), EINVAL);
  EXPECT_NE(base64_decode("Zm9").error().message().find("multiple of 4"), std::string::npos);
  EXPECT_FALSE(base64_decode("Zm=v").ok());  // padding only at the end
  EXPECT_FALSE(base64_decode("Z===").ok());  // at most two '='
  EXPECT_FALSE(base64_decode("====").ok());
  EXPECT_FALSE(base64_decode("Zg==Zg==").ok());
  // Spare bits are not checked (Go's StdEncoding): "Zh==" decodes like "Zg==".
  EXPECT_EQ(*base64_decode("Zh=="), "f");
}

}  // namespace
}  // namespace skiff
