#include <catch2/catch.hpp>

#include "auth/mailer.hpp"

using namespace depot::auth;

TEST_CASE("mail templates carry the site name, the link and escaped HTML", "[accounts]") {
  auto m = render_mail("Acme <Storage>", "verify", "a@example.test", {{"name", "alice"}, {"link", "https://x.test/v?token=abc&x=1"}});
  CHECK(m.to == "a@example.test");
  CHECK(m.subject == "Confirm your email address for Acme <Storage>");
  CHECK(m.text.find("https://x.test/v?token=abc&x=1") != std::string::npos);
  CHECK(m.text.find("Hello alice") != std::string::npos);
  CHECK(m.html.find("Acme &lt;Storage&gt;") != std::string::npos);
  CHECK(m.html.find("<a href=\"https://x.test/v?token=abc&amp;x=1\">") != std::string::npos);
  for (const char* kind : {"reset", "email_change", "plan_changed", "payment_failed", "over_quota"})
    CHECK_FALSE(render_mail("S", kind, "t@x", {{"name", "n"}, {"detail", "d"}, {"link", "l"}}).subject.empty());
  CHECK_THROWS(render_mail("S", "nope", "t@x", {}));
}

TEST_CASE("mail messages are multipart/alternative with CRLF lines", "[accounts]") {
  Mail m{"a@example.test", "Grüße", "line one\nline two", "<p>x</p>"};
  auto msg = format_message(m, "noreply@depot.test");
  CHECK(msg.find("Subject: =?UTF-8?B?") != std::string::npos);
  CHECK(msg.find("multipart/alternative") != std::string::npos);
  CHECK(msg.find("line one\r\nline two") != std::string::npos);
  CHECK(msg.find("@depot.test>") != std::string::npos);
}
