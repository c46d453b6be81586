// XEP-0115 entity capabilities: the XEP's own generation examples (§5.2, §5.3), the §5.4 rules
// that make a disco#info response ill-formed, and <c/> parsing, legacy caps included.
#include <gtest/gtest.h>

#include <algorithm>

#include "xep/caps.h"
#include "xep/stored_element.h"

namespace parley::xep::caps {
namespace {

xml::Element xml(std::string_view text) {
  auto e = load_element(text);
  if (!e) throw std::invalid_argument("bad test XML");
  return *e;
}

constexpr std::string_view kQueryOpen = "<query xmlns='http://jabber.org/protocol/disco#info'>";

// A disco#info <query/> holding `children`.
xml::Element query(std::string_view children) {
  return xml(std::string(kQueryOpen) + std::string(children) + "</query>");
}

std::string ver_of(std::string_view children, std::string_view hash = "sha-1") {
  std::string error;
  auto ver = compute_ver(query(children), hash, &error);
  if (!ver) return "error: " + error;
  return *ver;
}

// The disco#info result of §1.2 that §5.2 computes the ver of.
constexpr std::string_view kSimple =
    "<query xmlns='http://jabber.org/protocol/disco#info'"
    "       node='http://code.google.com/p/exodus#QgayPKawpkPSDYmwT/WM94uAlu0='>"
    "  <identity category='client' name='Exodus 0.9.1' type='pc'/>"
    "  <feature var='http://jabber.org/protocol/caps'/>"
    "  <feature var='http://jabber.org/protocol/disco#info'/>"
    "  <feature var='http://jabber.org/protocol/disco#items'/>"
    "  <feature var='http://jabber.org/protocol/muc'/>"
    "</query>";

constexpr std::string_view kSimpleS =
    "client/pc//Exodus 0.9.1<http://jabber.org/protocol/caps<http://jabber.org/protocol/"
    "disco#info<http://jabber.org/protocol/disco#items<http://jabber.org/protocol/muc<";

// The §5.3 result: two names in different languages and a XEP-0128 form.
constexpr std::string_view kComplex =
    "<query xmlns='http://jabber.org/protocol/disco#info'"
    "       node='http://psi-im.org#q07IKJEyjvHSyhy//CH0CxmKi8w='>"
    "  <identity xml:lang='en' category='client' name='Psi 0.11' type='pc'/>"
    "  <identity xml:lang='el' category='client' name='&#936; 0.11' type='pc'/>"
    "  <feature var='http://jabber.org/protocol/caps'/>"
    "  <feature var='http://jabber.org/protocol/disco#info'/>"
    "  <feature var='http://jabber.org/protocol/disco#items'/>"
    "  <feature var='http://jabber.org/protocol/muc'/>"
    "  <x xmlns='jabber:x:data' type='result'>"
    "    <field var='FORM_TYPE' type='hidden'>"
    "      <value>urn:xmpp:dataforms:softwareinfo</value>"
    "    </field>"
    "    <field var='ip_version' type='text-multi' >"
    "      <value>ipv4</value>"
    "      <value>ipv6</value>"
    "    </field>"
    "    <field var='os'>"
    "      <value>Mac</value>"
    "    </field>"
    "    <field var='os_version'>"
    "      <value>10.5.1</value>"
    "    </field>"
    "    <field var='software'>"
    "      <value>Psi</value>"
    "    </field>"
    "    <field var='software_version'>"
    "      <value>0.11</value>"
    "    </field>"
    "  </x>"
    "</query>";

constexpr std::string_view kComplexS =
    "client/pc/el/\xce\xa8 0.11<client/pc/en/Psi 0.11<http://jabber.org/protocol/caps<"
    "http://jabber.org/protocol/disco#info<http://jabber.org/protocol/disco#items<"
    "http://jabber.org/protocol/muc<urn:xmpp:dataforms:softwareinfo<ip_version<ipv4<ipv6<os<Mac<"
    "os_version<10.5.1<software<Psi<software_version<0.11<";

TEST(CapsTest, SimpleGenerationExample) {
  std::string error;
  auto s = verification_string(xml(kSimple), &error);
  ASSERT_TRUE(s) << error;
  EXPECT_EQ(*s, kSimpleS);
  EXPECT_EQ(compute_ver(xml(kSimple), "sha-1"), "QgayPKawpkPSDYmwT/WM94uAlu0=");
}

TEST(CapsTest, ComplexGenerationExample) {
  std::string error;
  auto s = verification_string(xml(kComplex), &error);
  ASSERT_TRUE(s) << error;
  EXPECT_EQ(*s, kComplexS);
  EXPECT_EQ(compute_ver(xml(kComplex), "sha-1"), "q07IKJEyjvHSyhy//CH0CxmKi8w=");
}

TEST(CapsTest, OtherHashes) {
  // Digests of kSimpleS from `openssl dgst -binary -sha256 | base64` (and -sha512).
  EXPECT_EQ(compute_ver(xml(kSimple), "sha-256"), "Wr6IGEKhx6b9627gBmi/cCmpxXBc/GYq5zWuYfWGWoc=");
  EXPECT_EQ(
      compute_ver(xml(kSimple), "sha-512"),
      "fRSVSbrOODMrPDQyHoSWoR+RemysUcEeGGhMh+kl/hGp9UrJxyDnrh9BymsL57Am/eToRZ/T4s6QBqeC6LVmoQ==");
  EXPECT_TRUE(verify({"sha-256", "http://code.google.com/p/exodus",
                      "Wr6IGEKhx6b9627gBmi/cCmpxXBc/GYq5zWuYfWGWoc=", ""},
                     xml(kSimple)));
}

TEST(CapsTest, UnsupportedHash) {
  for (std::string_view name : {"md5", "SHA-1", "sha1", "", "sha-3"}) {
    SCOPED_TRACE(name);
    EXPECT_FALSE(is_supported_hash(name));
    std::string error;
    EXPECT_FALSE(compute_ver(xml(kSimple), name, &error));
    EXPECT_NE(error.find("unsupported hash"), std::string::npos) << error;
  }
  for (std::string_view name : {"sha-1", "sha-224", "sha-256", "sha-384", "sha-512"})
    EXPECT_TRUE(is_supported_hash(name)) << name;
  // The right digest under a name we do not implement is still not verified (§5.4 step 2).
  EXPECT_FALSE(
      verify({"md5", "http://code.google.com/p/exodus", "QgayPKawpkPSDYmwT/WM94uAlu0=", ""},
             xml(kSimple)));
}

TEST(CapsTest, ParsesPresence) {
  auto presence =
      xml("<presence from='romeo@montague.lit/orchard'>"
          "<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' "
          "node='http://code.google.com/p/exodus'"
          " ver='QgayPKawpkPSDYmwT/WM94uAlu0='/></presence>");
  auto caps = parse(presence);
  ASSERT_TRUE(caps);
  EXPECT_EQ(caps->hash, "sha-1");
  EXPECT_EQ(caps->node, "http://code.google.com/p/exodus");
  EXPECT_EQ(caps->ver, "QgayPKawpkPSDYmwT/WM94uAlu0=");
  EXPECT_EQ(caps->ext, "");
  EXPECT_EQ(disco_node(*caps), "http://code.google.com/p/exodus#QgayPKawpkPSDYmwT/WM94uAlu0=");
  EXPECT_TRUE(verify(*caps, xml(kSimple)));
  EXPECT_FALSE(verify(*caps, xml(kComplex)));

  // The stream feature form (§6.3) is the same element.
  auto features_el =
      xml("<stream:features xmlns:stream='http://etherx.jabber.org/streams'>"
          "<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='http://jabberd.org'"
          " ver='ItBTI0XLDFvVxZ72NQElAzKS9sU='/></stream:features>");
  ASSERT_TRUE(parse(features_el));
  EXPECT_EQ(parse(features_el)->node, "http://jabberd.org");

  // Round trip through to_element.
  xml::Element again("presence", "jabber:client");
  again.add(to_element(*caps));
  EXPECT_EQ(parse(again), caps);
}

TEST(CapsTest, PresenceWithoutCaps) {
  EXPECT_FALSE(parse(xml("<presence/>")));
  EXPECT_FALSE(parse(xml("<presence><show>away</show></presence>")));
  // <c/> in another namespace is not caps.
  EXPECT_FALSE(
      parse(xml("<presence><c xmlns='urn:example' hash='sha-1' node='n' ver='v'/>"
                "</presence>")));
  // node and ver are REQUIRED (§4).
  EXPECT_FALSE(
      parse(xml("<presence><c xmlns='http://jabber.org/protocol/caps' hash='sha-1'"
                " ver='QgayPKawpkPSDYmwT/WM94uAlu0='/></presence>")));
  EXPECT_FALSE(
      parse(xml("<presence><c xmlns='http://jabber.org/protocol/caps' hash='sha-1'"
                " node='http://code.google.com/p/exodus'/></presence>")));
  EXPECT_FALSE(
      parse(xml("<presence><c xmlns='http://jabber.org/protocol/caps' node=''"
                " ver='x'/></presence>")));
}

TEST(CapsTest, LegacyCaps) {
  // Before version 1.4 (§13): no hash, 'ver' is a software version, 'ext' names bundles.
  auto caps = parse(
      xml("<presence><c xmlns='http://jabber.org/protocol/caps'"
          " node='http://exodus.jabberstudio.org/caps' ver='0.9' ext='ftrans xhtml'/></presence>"));
  ASSERT_TRUE(caps);
  EXPECT_EQ(caps->hash, "");
  EXPECT_EQ(caps->ver, "0.9");
  EXPECT_EQ(caps->ext, "ftrans xhtml");
  EXPECT_FALSE(verify(*caps, xml(kSimple)));
  // A legacy ver that happens to be a valid hash is still not verified without 'hash'.
  caps->ver = "QgayPKawpkPSDYmwT/WM94uAlu0=";
  EXPECT_FALSE(verify(*caps, xml(kSimple)));
  caps->hash = "sha-1";
  EXPECT_TRUE(verify(*caps, xml(kSimple)));

  xml::Element c = to_element({"", "n", "0.9", "a b"});
  EXPECT_FALSE(c.has("hash"));
  EXPECT_EQ(c.get("ext"), "a b");
}

TEST(CapsTest, VerifyRejectsChangedResponse) {
  Caps caps{"sha-1", "http://code.google.com/p/exodus", "QgayPKawpkPSDYmwT/WM94uAlu0=", ""};
  ASSERT_TRUE(verify(caps, xml(kSimple)));
  auto extra = xml(kSimple);
  extra.add("feature").set("var", "urn:xmpp:ping");
  EXPECT_FALSE(verify(caps, extra));
  auto renamed = xml(kSimple);
  renamed.child("identity")->set("name", "Exodus 0.9.2");
  EXPECT_FALSE(verify(caps, renamed));
  caps.ver = "QgayPKawpkPSDYmwT/WM94uAlu1=";
  EXPECT_FALSE(verify(caps, xml(kSimple)));
}

TEST(CapsTest, OrderDoesNotMatter) {
  const std::string expected = ver_of(
      "<identity category='client' type='pc' xml:lang='en' name='A'/>"
      "<identity category='client' type='pc' xml:lang='en' name='B'/>"
      "<identity category='client' type='phone'/>"
      "<feature var='a'/><feature var='b'/><feature var='c'/><feature var='d'/>"
      "<x xmlns='jabber:x:data' type='result'>"
      "<field var='FORM_TYPE' type='hidden'><value>urn:b</value></field>"
      "<field var='f1'><value>2</value><value>1</value></field><field var='f2'/></x>"
      "<x xmlns='jabber:x:data' type='result'>"
      "<field var='FORM_TYPE' type='hidden'><value>urn:a</value></field>"
      "<field var='z'><value>z</value></field></x>");
  ASSERT_EQ(expected.rfind("error", 0), std::string::npos) << expected;
  EXPECT_EQ(expected,
            ver_of("<feature var='d'/><feature var='b'/>"
                   "<x xmlns='jabber:x:data' type='result'>"
                   "<field var='z'><value>z</value></field>"
                   "<field var='FORM_TYPE' type='hidden'><value>urn:a</value></field></x>"
                   "<identity category='client' type='phone'/>"
                   "<feature var='c'/>"
                   "<identity category='client' type='pc' xml:lang='en' name='B'/>"
                   "<x xmlns='jabber:x:data' type='result'>"
                   "<field var='f2'/><field var='f1'><value>1</value><value>2</value></field>"
                   "<field var='FORM_TYPE' type='hidden'><value>urn:b</value></field></x>"
                   "<feature var='a'/>"
                   "<identity category='client' type='pc' xml:lang='en' name='A'/>"));

  // Every order of the §5.2 features gives the same ver.
  std::vector<std::string> features = {
      "http://jabber.org/protocol/caps", "http://jabber.org/protocol/disco#info",
      "http://jabber.org/protocol/disco#items", "http://jabber.org/protocol/muc"};
  std::sort(features.begin(), features.end());
  int orders = 0;
  do {
    std::string children = "<identity category='client' name='Exodus 0.9.1' type='pc'/>";
    for (const auto& f : features) children += "<feature var='" + f + "'/>";
    EXPECT_EQ(ver_of(children), "QgayPKawpkPSDYmwT/WM94uAlu0=") << children;
    ++orders;
  } while (std::next_permutation(features.begin(), features.end()));
  EXPECT_EQ(orders, 24);
}

TEST(CapsTest, SortsByOctets) {
  // i;octet: upper case before lower case, and a prefix before its extensions.
  auto s = verification_string(
      query("<feature var='b'/><feature var='B'/><feature var='ab'/><feature var='a'/>"
            "<feature var='\xc3\xa9'/><feature var='z'/>"));
  ASSERT_TRUE(s);
  EXPECT_EQ(*s, "B<a<ab<b<z<\xc3\xa9<");
  // Identities by category, then type, then lang, each compared on its own: 'a-b' sorts after
  // 'a' even though '-' sorts before '/'.
  s = verification_string(
      query("<identity category='a-b' type='t'/><identity category='a' type='t'/>"
            "<identity category='a' type='s' xml:lang='fr'/>"
            "<identity category='a' type='s'/>"));
  ASSERT_TRUE(s);
  EXPECT_EQ(*s, "a/s//<a/s/fr/<a/t//<a-b/t//<");
  // Form fields likewise by var alone, and a form's values among themselves.
  s = verification_string(
      query("<x xmlns='jabber:x:data' type='result'>"
            "<field var='a-b'><value>1</value></field>"
            "<field var='FORM_TYPE' type='hidden'><value>urn:t</value></field>"
            "<field var='a'><value>b</value><value>B</value><value>a</value></field></x>"));
  ASSERT_TRUE(s);
  EXPECT_EQ(*s, "urn:t<a<B<a<b<a-b<1<");
}

TEST(CapsTest, FactorsAreUnescapedValues) {
  // '&lt;' in the XML is a '<' in S; '&amp;lt;' stays the four characters '&lt;' (§5.1 note).
  auto s = verification_string(
      query("<identity category='client' type='pc' name='a&lt;b'/>"
            "<identity category='client' type='pc' xml:lang='de' name='c&amp;lt;d'/>"
            "<feature var='x&amp;y'/>"
            "<x xmlns='jabber:x:data' type='result'>"
            "<field var='FORM_TYPE' type='hidden'><value>urn:&quot;t&quot;</value></field>"
            "<field var='v'><value>&gt;&apos;</value></field></x>"));
  ASSERT_TRUE(s);
  EXPECT_EQ(*s, "client/pc//a<b<client/pc/de/c&lt;d<x&y<urn:\"t\"<v<>'<");
}

TEST(CapsTest, RejectsIllFormedResponses) {
  auto rejected = [](std::string_view children) {
    std::string error;
    auto s = verification_string(query(children), &error);
    EXPECT_FALSE(s) << children << " gave " << s.value_or("");
    EXPECT_FALSE(error.empty()) << children;
    std::string ver_error;
    EXPECT_FALSE(compute_ver(query(children), "sha-1", &ver_error));
    EXPECT_EQ(ver_error, error);
    return error;
  };

  // §5.4 step 3.3: the same category/type/lang/name twice.
  EXPECT_NE(rejected("<identity category='client' type='pc' name='A'/><feature var='f'/>"
                     "<identity category='client' type='pc' name='A'/>")
                .find("identities"),
            std::string::npos);
  rejected(
      "<identity category='client' type='pc' xml:lang='en'/>"
      "<identity category='client' type='pc' xml:lang='en'/>");
  // Differing in name only, or in lang only, is not a duplicate.
  EXPECT_TRUE(
      verification_string(query("<identity category='client' type='pc' name='A'/>"
                                "<identity category='client' type='pc' name='B'/>")));
  EXPECT_TRUE(
      verification_string(query("<identity category='client' type='pc' xml:lang='en'/>"
                                "<identity category='client' type='pc' xml:lang='de'/>")));

  // §5.4 step 3.4: a feature twice.
  EXPECT_NE(rejected("<feature var='urn:a'/><feature var='urn:b'/><feature var='urn:a'/>")
                .find("feature"),
            std::string::npos);

  // §5.4 step 3.5: two forms with one FORM_TYPE ...
  EXPECT_NE(rejected("<x xmlns='jabber:x:data' type='result'>"
                     "<field var='FORM_TYPE' type='hidden'><value>urn:t</value></field>"
                     "<field var='a'><value>1</value></field></x>"
                     "<x xmlns='jabber:x:data' type='result'>"
                     "<field var='FORM_TYPE' type='hidden'><value>urn:t</value></field>"
                     "<field var='b'><value>2</value></field></x>")
                .find("FORM_TYPE"),
            std::string::npos);
  // ... also when one of them would be ignored for not being hidden (step 3.5 comes first) ...
  rejected(
      "<x xmlns='jabber:x:data' type='result'>"
      "<field var='FORM_TYPE' type='hidden'><value>urn:t</value></field></x>"
      "<x xmlns='jabber:x:data' type='result'>"
      "<field var='FORM_TYPE'><value>urn:t</value></field></x>");
  // ... or a FORM_TYPE with differing values; the same value twice is fine.
  rejected(
      "<x xmlns='jabber:x:data' type='result'><field var='FORM_TYPE' type='hidden'>"
      "<value>urn:t</value><value>urn:u</value></field></x>");
  auto same_twice = verification_string(
      query("<x xmlns='jabber:x:data' type='result'><field var='FORM_TYPE' type='hidden'>"
            "<value>urn:t</value><value>urn:t</value></field><field var='a'/></x>"));
  ASSERT_TRUE(same_twice);
  EXPECT_EQ(*same_twice, "urn:t<a<");
  // Two FORM_TYPE fields leave the form's type ambiguous.
  rejected(
      "<x xmlns='jabber:x:data' type='result'>"
      "<field var='FORM_TYPE' type='hidden'><value>urn:t</value></field>"
      "<field var='FORM_TYPE' type='hidden'><value>urn:t</value></field></x>");

  // XEP-0030 §3.1: identities need category and type, features need var.
  rejected("<identity category='client'/>");
  rejected("<identity type='pc'/>");
  rejected("<feature/>");

  // Not a disco#info result at all.
  std::string error;
  EXPECT_FALSE(verification_string(
      xml("<query xmlns='http://jabber.org/protocol/disco#items'><feature var='a'/></query>"),
      &error));
  EXPECT_FALSE(error.empty());
  EXPECT_FALSE(verify({"sha-1", "n", "QgayPKawpkPSDYmwT/WM94uAlu0=", ""},
                      xml("<query xmlns='http://jabber.org/protocol/disco#items'/>")));
  // An ill-formed response is never verified, whatever its ver.
  Caps caps{"sha-1", "n", *compute_ver(query("<feature var='a'/>"), "sha-1"), ""};
  EXPECT_TRUE(verify(caps, query("<feature var='a'/>")));
  EXPECT_FALSE(verify(caps, query("<feature var='a'/><feature var='a'/>")));
}

TEST(CapsTest, IgnoresFormsWithoutHiddenFormType) {
  // §5.4 step 3.6: such a form is left out of S and the rest is still processed.
  const std::string base = "<identity category='client' type='pc'/><feature var='f'/>";
  const std::string plain = ver_of(base);
  ASSERT_EQ(plain.rfind("error", 0), std::string::npos) << plain;
  EXPECT_EQ(plain, ver_of(base + "<x xmlns='jabber:x:data' type='result'>"
                                 "<field var='FORM_TYPE'><value>urn:t</value></field>"
                                 "<field var='a'><value>1</value></field></x>"));
  EXPECT_EQ(plain,
            ver_of(base + "<x xmlns='jabber:x:data' type='result'>"
                          "<field var='FORM_TYPE' type='text-single'><value>urn:t</value></field>"
                          "</x>"));
  EXPECT_EQ(plain, ver_of(base + "<x xmlns='jabber:x:data' type='result'>"
                                 "<field var='a'><value>1</value></field></x>"));
  EXPECT_EQ(plain, ver_of(base + "<x xmlns='jabber:x:data' type='result'>"
                                 "<field var='FORM_TYPE' type='hidden'/><field var='a'/></x>"));
  // A hidden one does count.
  EXPECT_NE(plain, ver_of(base + "<x xmlns='jabber:x:data' type='result'>"
                                 "<field var='FORM_TYPE' type='hidden'><value>urn:t</value></field>"
                                 "</x>"));
  // Children in other namespaces are not identities, features or forms.
  EXPECT_EQ(plain, ver_of(base + "<feature xmlns='urn:example' var='g'/>"
                                 "<x xmlns='urn:example'><field var='FORM_TYPE' type='hidden'>"
                                 "<value>urn:t</value></field></x>"));
}

TEST(CapsTest, Features) {
  auto q = xml(kSimple);
  EXPECT_EQ(features(q),
            (std::vector<std::string>{
                "http://jabber.org/protocol/caps", "http://jabber.org/protocol/disco#info",
                "http://jabber.org/protocol/disco#items", "http://jabber.org/protocol/muc"}));
  EXPECT_TRUE(has_feature(q, "http://jabber.org/protocol/muc"));
  EXPECT_FALSE(has_feature(q, "http://jabber.org/protocol/mu"));
  EXPECT_TRUE(features(query("<identity category='client' type='pc'/>")).empty());
  // A feature without var is no feature, and nothing is the feature "".
  auto unnamed = query("<feature/><feature var='b'/><feature xmlns='urn:example' var='c'/>");
  EXPECT_EQ(features(unnamed), std::vector<std::string>{"b"});
  EXPECT_FALSE(has_feature(unnamed, ""));
  EXPECT_FALSE(has_feature(unnamed, "c"));
}

}  // namespace
}  // namespace parley::xep::caps
