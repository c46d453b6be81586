// XEP-0004 data forms codec: the XEP's own examples decode, round trips are exact, and the
// §3.2 rules that make a form malformed are enforced.
#include <gtest/gtest.h>

#include "xep/dataforms.h"
#include "xep/stored_element.h"

namespace parley::xep::dataforms {
namespace {

xml::Element xml(std::string_view text) {
  auto e = load_element(text);
  if (!e) throw std::invalid_argument("bad test XML");
  return *e;
}

// The XEP-0313 §4.1.5 form-discovery result, with an XEP-0122 <validate/> on 'ids'.
constexpr std::string_view kMamForm =
    "<x xmlns='jabber:x:data' type='form'>"
    "<field type='hidden' var='FORM_TYPE'><value>urn:xmpp:mam:2</value></field>"
    "<field type='jid-single' var='with'/>"
    "<field type='text-single' var='start'/>"
    "<field type='list-multi' var='ids'>"
    "<validate xmlns='http://jabber.org/protocol/xdata-validate' datatype='xs:string'><open/>"
    "</validate></field>"
    "</x>";

TEST(DataFormsTest, DecodesAFormWithItsFormType) {
  auto f = parse(xml(kMamForm));
  ASSERT_TRUE(f) << f.error();
  EXPECT_EQ(f->type, FormType::Form);
  EXPECT_EQ(f->form_type(), "urn:xmpp:mam:2");
  ASSERT_EQ(f->fields.size(), 4u);
  ASSERT_TRUE(f->field("with"));
  EXPECT_EQ(f->field("with")->type, "jid-single");
  EXPECT_TRUE(f->field("with")->values.empty());
  const Field* ids = f->field("ids");
  ASSERT_TRUE(ids);
  ASSERT_EQ(ids->extensions.size(), 1u);  // kept, in its own namespace
  EXPECT_EQ(ids->extensions[0].name(), "validate");
  EXPECT_EQ(f->field("nope"), nullptr);
}

TEST(DataFormsTest, RoundTripIsExact) {
  Form f = with_form_type(FormType::Submit, "urn:xmpp:mam:2");
  f.title = "Search";
  f.instructions = {"Fill in", "then submit"};
  Field& with = f.add("with", "jid-single", {"juliet@capulet.lit"});
  with.label = "With";
  with.desc = "A contact";
  with.required = true;
  Field& list = f.add("color", "list-multi", {"red", "blue"});
  list.options = {{"Red", "red"}, {"", "blue"}};
  f.add("", "fixed", {"A section"});

  xml::Element e = to_element(f);
  EXPECT_EQ(e.get("type"), "submit");
  auto back = parse(e);
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(*back, f);
  // Serialized once more, the same text: to_element is a fixed point.
  EXPECT_EQ(to_element(*back).str(), e.str());
}

TEST(DataFormsTest, ResultItemsRoundTrip) {
  Form f;
  f.type = FormType::Result;
  f.reported.push_back(Field{"name", "text-single", "Name", "", false, {}, {}, {}});
  f.items.push_back({Field{"name", "", "", "", false, {"Romeo"}, {}, {}}});
  f.items.push_back({Field{"name", "", "", "", false, {"Juliet"}, {}, {}}});
  auto back = parse(to_element(f));
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(*back, f);
  ASSERT_EQ(back->items.size(), 2u);
  EXPECT_EQ(back->items[1][0].value(), "Juliet");
}

TEST(DataFormsTest, CancelFormHasNoFields) {
  auto f = parse(xml("<x xmlns='jabber:x:data' type='cancel'/>"));
  ASSERT_TRUE(f) << f.error();
  EXPECT_EQ(f->type, FormType::Cancel);
  EXPECT_TRUE(f->fields.empty());
  EXPECT_EQ(f->form_type(), "");
}

TEST(DataFormsTest, HiddenFieldsMayRepeatValues) {
  auto f = parse(
      xml("<x xmlns='jabber:x:data' type='submit'>"
          "<field var='FORM_TYPE' type='hidden'><value>a</value><value>b</value></field></x>"));
  ASSERT_TRUE(f) << f.error();
  EXPECT_EQ(f->field("FORM_TYPE")->values.size(), 2u);
}

TEST(DataFormsTest, RejectsMalformedForms) {
  const char* bad[] = {
      // §3.1: type is required and one of four.
      "<x xmlns='jabber:x:data'/>",
      "<x xmlns='jabber:x:data' type='error'/>",
      // Not a data form at all.
      "<x xmlns='jabber:x:oob' type='form'/>",
      // §3.2: var is required except on fixed fields, and unique.
      "<x xmlns='jabber:x:data' type='submit'><field type='text-single'/></x>",
      "<x xmlns='jabber:x:data' type='submit'><field var='a'/><field var='a'/></x>",
      // §3.2: single-valued types hold one value.
      "<x xmlns='jabber:x:data' type='submit'>"
      "<field var='with' type='jid-single'><value>a@b</value><value>c@d</value></field></x>",
      "<x xmlns='jabber:x:data' type='submit'>"
      "<field var='s' type='text-single'><value>1</value><value>2</value></field></x>",
      // §3.2: options only in list fields, exactly one value each.
      "<x xmlns='jabber:x:data' type='form'>"
      "<field var='t' type='text-single'><option><value>x</value></option></field></x>",
      "<x xmlns='jabber:x:data' type='form'>"
      "<field var='l' type='list-single'><option label='x'/></field></x>",
      // §3.3: unknown field types.
      "<x xmlns='jabber:x:data' type='form'><field var='v' type='date'/></x>",
      // <required/> is empty.
      "<x xmlns='jabber:x:data' type='form'><field var='v'><required>yes</required></field></x>",
      // §3.4: reported/items only in results, one <reported/>.
      "<x xmlns='jabber:x:data' type='form'><item><field var='a'/></item></x>",
      "<x xmlns='jabber:x:data' type='result'><reported/><reported/></x>",
  };
  for (const char* text : bad) {
    auto f = parse(xml(text));
    EXPECT_FALSE(f) << text;
    EXPECT_FALSE(f.error().empty()) << text;
  }
}

TEST(DataFormsTest, UntypedSubmittedFieldsMayHoldSeveralValues) {
  // §3.2: a submission may leave the type out; only the using protocol knows it.
  auto f =
      parse(xml("<x xmlns='jabber:x:data' type='submit'>"
                "<field var='ids'><value>a</value><value>b</value></field></x>"));
  ASSERT_TRUE(f) << f.error();
  EXPECT_EQ(f->field("ids")->values, (std::vector<std::string>{"a", "b"}));
}

TEST(DataFormsTest, FormTypeMustBeHidden) {
  auto f = parse(
      xml("<x xmlns='jabber:x:data' type='submit'>"
          "<field var='FORM_TYPE' type='text-single'><value>urn:xmpp:mam:2</value></field></x>"));
  ASSERT_TRUE(f);
  EXPECT_EQ(f->form_type(), "");  // XEP-0068 §2: only a hidden FORM_TYPE names the form
}

}  // namespace
}  // namespace parley::xep::dataforms
