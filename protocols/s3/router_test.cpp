#include <catch2/catch.hpp>

#include "protocols/s3/error.hpp"
#include "protocols/s3/router.hpp"
#include "protocols/s3/xml.hpp"

using namespace depot;
using namespace depot::s3;

namespace {
RouteOutcome r(http::bhttp::verb v, std::string target, std::string host = "127.0.0.1:8080",
               std::vector<std::pair<std::string, std::string>> h = {}, std::string base = "") {
  http::RequestHeader req;
  req.method(v);
  req.target(target);
  req.set(http::bhttp::field::host, host);
  for (auto& [k, val] : h) req.set(k, val);
  return route(req, base);
}
using V = http::bhttp::verb;
}  // namespace

TEST_CASE("S3 router: path style", "[s3]") {
  CHECK(r(V::get, "/").operation->op == Op::ListBuckets);
  CHECK(r(V::put, "/bkt").operation->op == Op::CreateBucket);
  CHECK(r(V::get, "/bkt?list-type=2&prefix=a%2Fb").operation->op == Op::ListObjectsV2);
  CHECK(r(V::get, "/bkt?list-type=2&prefix=a%2Fb").operation->get("prefix") == "a/b");
  CHECK(r(V::get, "/bkt/").operation->op == Op::ListObjects);
  CHECK(r(V::get, "/bkt?location").operation->op == Op::GetBucketLocation);
  CHECK(r(V::post, "/bkt?delete").operation->op == Op::DeleteObjects);
  CHECK(r(V::get, "/bkt?versions").operation->op == Op::ListObjectVersions);
  auto put = r(V::put, "/bkt/dir/my%20file+x.txt");
  CHECK(put.operation->op == Op::PutObject);
  CHECK(put.operation->key == "dir/my file+x.txt");
  CHECK(r(V::put, "/bkt/k", "h", {{"x-amz-copy-source", "/a/b"}}).operation->op == Op::CopyObject);
  CHECK(r(V::put, "/bkt/k?partNumber=1&uploadId=u").operation->op == Op::UploadPart);
  CHECK(r(V::put, "/bkt/k?partNumber=1&uploadId=u", "h", {{"x-amz-copy-source", "a/b"}}).operation->op == Op::UploadPartCopy);
  CHECK(r(V::post, "/bkt/k?uploads").operation->op == Op::CreateMultipartUpload);
  CHECK(r(V::post, "/bkt/k?uploadId=u").operation->op == Op::CompleteMultipartUpload);
  CHECK(r(V::delete_, "/bkt/k?uploadId=u").operation->op == Op::AbortMultipartUpload);
  CHECK(r(V::get, "/bkt/k?uploadId=u").operation->op == Op::ListParts);
  CHECK(r(V::get, "/bkt/k?tagging").operation->op == Op::GetObjectTagging);
  CHECK(r(V::head, "/bkt/k").operation->op == Op::HeadObject);
  CHECK(r(V::options, "/bkt/k").operation->op == Op::Preflight);
  CHECK(r(V::get, "/bkt?policy").operation->op == Op::GetBucketAbsentConfig);
  CHECK(r(V::get, "/bkt?requestPayment").operation->op == Op::GetBucketAbsentConfig);
  CHECK(r(V::delete_, "/bkt?lifecycle").operation->op == Op::DeleteBucketAbsentConfig);
  CHECK(r(V::put, "/bkt?policy").error->code == "NotImplemented");
  CHECK(r(V::delete_, "/bkt?object-lock").error->code == "MethodNotAllowed");
  CHECK(r(V::options, "/bkt?policy").operation->op == Op::Preflight);
  CHECK(r(V::get, "/bkt?analytics").error->code == "NotImplemented");
  CHECK(r(V::patch, "/bkt/k").error->code == "MethodNotAllowed");
  CHECK(r(V::get, "/bkt/k").operation->resource() == "/bkt/k");
}

TEST_CASE("S3 router: an operation it does not know is never taken for a plain write", "[s3]") {
  // Metadata-table configurations: a DELETE of one once deleted the bucket.
  CHECK(r(V::delete_, "/bkt?metadataTable").error->code == "NotImplemented");
  CHECK(r(V::delete_, "/bkt?metadataConfiguration").error->code == "NotImplemented");
  CHECK(r(V::get, "/bkt?metadataTable").error->code == "NotImplemented");
  // RenameObject: once a PutObject with an empty body over the destination.
  CHECK(r(V::put, "/bkt/k?renameObject", "h", {{"x-amz-rename-source", "/bkt/src"}}).error->code == "NotImplemented");
  // Any parameter a plain write does not take.
  CHECK(r(V::put, "/bkt/k?someNewThing").error->code == "NotImplemented");
  CHECK(r(V::delete_, "/bkt?someNewThing=1").error->code == "NotImplemented");
  CHECK(r(V::put, "/bkt?someNewThing").error->code == "NotImplemented");
  CHECK(r(V::delete_, "/bkt/k?someNewThing").error->code == "NotImplemented");
  // What the SDKs and presigned URLs add still routes.
  CHECK(r(V::put, "/bkt/k?x-id=PutObject").operation->op == Op::PutObject);
  CHECK(r(V::put, "/bkt/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=ab").operation->op == Op::PutObject);
  CHECK(r(V::delete_, "/bkt/k?versionId=null&x-id=DeleteObject").operation->op == Op::DeleteObject);
  CHECK(r(V::delete_, "/bkt?x-id=DeleteBucket").operation->op == Op::DeleteBucket);
  CHECK(r(V::get, "/bkt/k?cachebuster=1").operation->op == Op::GetObject);
  // A refusal names the resource it was about.
  CHECK(r(V::patch, "/bkt/k").operation->resource() == "/bkt/k");
  CHECK(r(V::post, "/bkt").error->code == "NotImplemented");
}

TEST_CASE("S3 router: virtual-hosted style", "[s3]") {
  auto o = r(V::get, "/a/b.txt", "photos.s3.example.com:8080", {}, "s3.example.com");
  REQUIRE(o.operation);
  CHECK(o.operation->bucket == "photos");
  CHECK(o.operation->key == "a/b.txt");
  CHECK(o.operation->op == Op::GetObject);
  auto root = r(V::get, "/", "s3.example.com", {}, "s3.example.com");
  CHECK(root.operation->op == Op::ListBuckets);
}

TEST_CASE("S3 error body", "[s3]") {
  auto e = from_engine(make_error(Errc::no_such_key, "x"), Subject::object);
  CHECK(e.status == 404);
  auto xml = error_xml(e, "/b/k", "req1");
  CHECK(xml.find("<Code>NoSuchKey</Code>") != std::string::npos);
  CHECK(xml.find("<Resource>/b/k</Resource>") != std::string::npos);
  CHECK(xml.find("<RequestId>req1</RequestId>") != std::string::npos);
  CHECK(from_engine(make_error(Errc::quota_exceeded, "")).code == "QuotaExceeded");
  CHECK(from_engine(make_error(Errc::too_large, "the key is longer than 1024 bytes")).code == "KeyTooLongError");
}

TEST_CASE("S3 XML: a carriage return in a value is written as a reference", "[s3]") {
  XmlDoc d("ListBucketResult");
  d.root().add("Key", "cr\rkey");
  auto s = d.str();
  CHECK(s.find("<Key>cr&#13;key</Key>") != std::string::npos);
  CHECK(s.find('\r') == std::string::npos);
}

TEST_CASE("S3 XML: documents that are not well-formed are refused", "[s3]") {
  CHECK(parse_xml("<Tagging><TagSet/></Tagging>", "Tagging"));
  CHECK(parse_xml("<?xml version=\"1.0\"?><!-- c --><Tagging><TagSet><Tag><Key>a&amp;b</Key><Value>&#65;&lt;</Value>"
                  "</Tag></TagSet></Tagging>\n",
                  "Tagging"));
  CHECK(parse_xml("<Tagging><![CDATA[ & ]]></Tagging>", "Tagging"));
  CHECK(parse_xml("<x:Tagging xmlns:x=\"http://s3.amazonaws.com/doc/2006-03-01/\"><x:TagSet/></x:Tagging>", "Tagging"));
  CHECK_FALSE(parse_xml("<Tagging><TagSet><Tag><Key>k</Key><Value>a&nope;b</Value></Tag></TagSet></Tagging>", "Tagging"));
  CHECK_FALSE(parse_xml("<!DOCTYPE t [<!ENTITY e \"X\">]><Tagging>&e;</Tagging>", "Tagging"));
  CHECK_FALSE(parse_xml("<Tagging><TagSet/></Tagging>trailing", "Tagging"));
  CHECK_FALSE(parse_xml("<Tagging/><Tagging/>", "Tagging"));
  CHECK_FALSE(parse_xml("<x:Tagging><x:TagSet/></x:Tagging>", "Tagging"));
}

TEST_CASE("S3 router: a query that does not decode is refused before authentication", "[s3]") {
  CHECK(r(V::get, "/bkt?list-type=2&prefix=a%00").error->code == "InvalidArgument");
  CHECK(r(V::get, "/bkt?prefix=50%zz").error->code == "InvalidArgument");
  CHECK(r(V::get, "/bkt?prefix=a%20b+c").operation->get("prefix") == "a b c");
}

TEST_CASE("S3 XML: text before or after the root is refused", "[s3]") {
  CHECK_FALSE(parse_xml("junk<Tagging/>", "Tagging"));
  CHECK(parse_xml("\xEF\xBB\xBF<Tagging/>\r\n", "Tagging"));
}
