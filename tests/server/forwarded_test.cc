// Who a request came from behind trusted reverse proxies (server/forwarded.h).
#include "server/forwarded.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace vemakin::server {
namespace {

HttpRequest WithHeaders(std::vector<std::pair<std::string, std::string>> headers) {
  HttpRequest r;
  r.headers = std::move(headers);
  return r;
}

TEST(TrustedProxies, ParsesNetworksAndAddressesAndRefusesTheRest) {
  const TrustedProxies p({"10.0.0.0/8", "192.0.2.7", "2001:db8::/32", " 127.0.0.1/32 "},
                         ProxyHeader::kXForwardedFor);
  EXPECT_TRUE(p.Contains("10.200.3.4"));
  EXPECT_FALSE(p.Contains("11.0.0.1"));
  EXPECT_TRUE(p.Contains("192.0.2.7"));
  EXPECT_FALSE(p.Contains("192.0.2.8"));
  EXPECT_TRUE(p.Contains("2001:db8:ffff::1"));
  EXPECT_FALSE(p.Contains("2001:db9::1"));
  EXPECT_TRUE(p.Contains("::ffff:10.1.1.1"));  // IPv4-mapped, as a dual-stack socket sees it
  EXPECT_TRUE(p.Contains("127.0.0.1"));
  EXPECT_FALSE(p.Contains("not an address"));
  EXPECT_FALSE(p.Contains(""));
  for (const char* bad : {"10.0.0.0/33", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/8x", "10.0.0",
                          "host.example", "::/129", "", "fe80::1%eth0"}) {
    EXPECT_THROW(TrustedProxies({bad}, ProxyHeader::kXForwardedFor), Error) << bad;
  }
}

TEST(TrustedProxies, HostBitsBelowThePrefixAreIgnoredAndZeroPrefixTrustsAllOfAFamily) {
  const TrustedProxies p({"10.1.2.3/8", "::/0"}, ProxyHeader::kXForwardedFor);
  EXPECT_TRUE(p.Contains("10.9.9.9"));
  EXPECT_TRUE(p.Contains("2a00::1"));
  const TrustedProxies v4({"0.0.0.0/0"}, ProxyHeader::kXForwardedFor);
  EXPECT_TRUE(v4.Contains("203.0.113.9"));
  EXPECT_TRUE(v4.Contains("::ffff:203.0.113.9"));
  EXPECT_FALSE(v4.Contains("2001:db8::1"));  // /0 of IPv4 is not every IPv6 address
}

TEST(TrustedProxies, AnUntrustedPeerIsTheClientWhateverItsHeadersSay) {
  const TrustedProxies p({"10.0.0.0/8"}, ProxyHeader::kXForwardedFor);
  const HttpRequest r = WithHeaders({{"X-Forwarded-For", "127.0.0.1"}});
  EXPECT_EQ(p.ClientAddress("203.0.113.9", r), "203.0.113.9");
  EXPECT_EQ(TrustedProxies().ClientAddress("127.0.0.1", r), "127.0.0.1");
}

TEST(TrustedProxies, TheRightmostUntrustedHopIsTheClient) {
  const TrustedProxies p({"10.0.0.0/8"}, ProxyHeader::kXForwardedFor);
  // The client wrote "127.0.0.1" itself; our proxy appended what it saw.
  EXPECT_EQ(
      p.ClientAddress("10.0.0.1", WithHeaders({{"X-Forwarded-For", "127.0.0.1, 198.51.100.4"}})),
      "198.51.100.4");
  // Two proxies of ours in a row.
  EXPECT_EQ(
      p.ClientAddress("10.0.0.1", WithHeaders({{"x-forwarded-for", "198.51.100.4, 10.0.0.2"}})),
      "198.51.100.4");
  // Several header lines are one list.
  EXPECT_EQ(p.ClientAddress("10.0.0.1", WithHeaders({{"X-Forwarded-For", "1.1.1.1"},
                                                     {"X-Forwarded-For", "198.51.100.4"}})),
            "198.51.100.4");
  // Every hop is ours: the leftmost is as far as we can see.
  EXPECT_EQ(p.ClientAddress("10.0.0.1", WithHeaders({{"X-Forwarded-For", "10.0.0.3, 10.0.0.2"}})),
            "10.0.0.3");
  // No header: the proxy itself.
  EXPECT_EQ(p.ClientAddress("10.0.0.1", WithHeaders({})), "10.0.0.1");
  // Ports and brackets are taken off, a mapped address is unmapped.
  EXPECT_EQ(p.ClientAddress("10.0.0.1", WithHeaders({{"X-Forwarded-For", "198.51.100.4:5123"}})),
            "198.51.100.4");
  EXPECT_EQ(p.ClientAddress("10.0.0.1", WithHeaders({{"X-Forwarded-For", "[2001:DB8::5]:80"}})),
            "2001:db8::5");
  EXPECT_EQ(p.ClientAddress("10.0.0.1", WithHeaders({{"X-Forwarded-For", "::ffff:198.51.100.4"}})),
            "198.51.100.4");
}

TEST(TrustedProxies, XForwardedForHasNoQuotingThatCouldHideAnAppendedHop) {
  const TrustedProxies p({"10.0.0.0/8"}, ProxyHeader::kXForwardedFor);
  // nginx appends to the client's own line: a stray quote must not swallow it.
  EXPECT_EQ(
      p.ClientAddress("10.0.0.1", WithHeaders({{"X-Forwarded-For", "\"1.2.3.4, 198.51.100.4"}})),
      "198.51.100.4");
}

TEST(TrustedProxies, AnEntryThatIsNoAddressStopsAtTheHopThatSentIt) {
  const TrustedProxies p({"10.0.0.0/8"}, ProxyHeader::kXForwardedFor);
  EXPECT_EQ(p.ClientAddress("10.0.0.1", WithHeaders({{"X-Forwarded-For", "1.2.3.4, unknown"}})),
            "10.0.0.1");
  EXPECT_EQ(
      p.ClientAddress("10.0.0.1", WithHeaders({{"X-Forwarded-For", "1.2.3.4, garbage, 10.0.0.2"}})),
      "10.0.0.2");
}

TEST(TrustedProxies, OnlyTheConfiguredHeaderIsRead) {
  const TrustedProxies xff({"10.0.0.0/8"}, ProxyHeader::kXForwardedFor);
  const TrustedProxies fwd({"10.0.0.0/8"}, ProxyHeader::kForwarded);
  const HttpRequest r =
      WithHeaders({{"Forwarded", "for=127.0.0.1"}, {"X-Forwarded-For", "198.51.100.4"}});
  EXPECT_EQ(xff.ClientAddress("10.0.0.1", r), "198.51.100.4");
  EXPECT_EQ(fwd.ClientAddress("10.0.0.1", r), "127.0.0.1");
}

TEST(ForwardedAddresses, ParsesRfc7239Elements) {
  const HttpRequest r =
      WithHeaders({{"Forwarded",
                    R"(for=192.0.2.60;proto=http;by=203.0.113.43, For="[2001:db8:cafe::17]:4711")"},
                   {"forwarded", R"(by=10.0.0.9, for="198.51.100.4:80";host="a,b")"}});
  EXPECT_EQ(ForwardedAddresses(r, ProxyHeader::kForwarded),
            (std::vector<std::string>{"192.0.2.60", "2001:db8:cafe::17", "", "198.51.100.4"}));
  const TrustedProxies p({"10.0.0.0/8"}, ProxyHeader::kForwarded);
  EXPECT_EQ(p.ClientAddress("10.0.0.1", r), "198.51.100.4");
  // An element without for= is no address: the walk stops at the hop that sent it.
  EXPECT_EQ(p.ClientAddress("10.0.0.1", WithHeaders({{"Forwarded", "for=1.2.3.4, proto=https"}})),
            "10.0.0.1");
  EXPECT_EQ(p.ClientAddress("10.0.0.1", WithHeaders({{"Forwarded", "for=_hidden"}})), "10.0.0.1");
}

TEST(ProxyHeader, ParsesTheTwoNamesInAnyCase) {
  EXPECT_EQ(ParseProxyHeader("X-Forwarded-For"), ProxyHeader::kXForwardedFor);
  EXPECT_EQ(ParseProxyHeader("forwarded"), ProxyHeader::kForwarded);
  EXPECT_THROW(ParseProxyHeader("x-real-ip"), Error);
}

}  // namespace
}  // namespace vemakin::server
