// The .proto files every annotated API imports, shipped so no googleapis checkout or protoc is
// needed: google/api/http.proto, google/api/annotations.proto and google/rpc/status.proto.
// Field numbers and names follow the published definitions (they are wire contracts); the
// well-known types (google/protobuf/*.proto) come from @bufbuild/protobuf's own descriptors.

const HTTP_PROTO = `syntax = "proto3";
package google.api;

message Http {
  repeated HttpRule rules = 1;
  bool fully_decode_reserved_expansion = 2;
}

message HttpRule {
  string selector = 1;
  oneof pattern {
    string get = 2;
    string put = 3;
    string post = 4;
    string delete = 5;
    string patch = 6;
    CustomHttpPattern custom = 8;
  }
  string body = 7;
  string response_body = 12;
  repeated HttpRule additional_bindings = 11;
}

message CustomHttpPattern {
  string kind = 1;
  string path = 2;
}
`;

const ANNOTATIONS_PROTO = `syntax = "proto3";
package google.api;

import "google/api/http.proto";
import "google/protobuf/descriptor.proto";

extend google.protobuf.MethodOptions {
  HttpRule http = 72295728;
}
`;

const STATUS_PROTO = `syntax = "proto3";
package google.rpc;

import "google/protobuf/any.proto";

message Status {
  int32 code = 1;
  string message = 2;
  repeated google.protobuf.Any details = 3;
}
`;

/** Bundled sources by import name; a file of the same name on an import path wins. */
export const BUNDLED_PROTOS: ReadonlyMap<string, string> = new Map([
  ['google/api/http.proto', HTTP_PROTO],
  ['google/api/annotations.proto', ANNOTATIONS_PROTO],
  ['google/rpc/status.proto', STATUS_PROTO],
]);
