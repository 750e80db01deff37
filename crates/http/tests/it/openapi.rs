//! `GET /openapi.json`: served, equal to the checked-in `docs/openapi.json`, and true to the
//! routes it describes.

use actix_web::dev::Service;
use actix_web::http::{Method, StatusCode, header};
use actix_web::test::{self, TestRequest};
use serde_json::Value;

use crate::{create_body, created, envs, send};

/// The checked-in copy.
const CHECKED_IN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");

/// Set to `1` to rewrite [`CHECKED_IN`] from the served description instead of comparing.
const WRITE_SWITCH: &str = "ALIASKIT_WRITE_OPENAPI";

/// The served bytes and content type.
async fn served() -> (Vec<u8>, String) {
    let env = envs().into_iter().next().unwrap();
    let app = test::init_service(aliaskit_http::app(env.api.clone())).await;
    let res = app
        .call(TestRequest::get().uri("/openapi.json").to_request())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let content_type = res
        .headers()
        .get(header::CONTENT_TYPE)
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    (test::read_body(res).await.to_vec(), content_type)
}

#[actix_web::test]
async fn openapi_the_served_description_is_the_checked_in_one() {
    let (bytes, content_type) = served().await;
    assert_eq!(content_type, "application/json");
    assert_eq!(bytes, aliaskit_http::openapi::json().unwrap());
    if std::env::var(WRITE_SWITCH).as_deref() == Ok("1") {
        std::fs::write(CHECKED_IN, &bytes).unwrap();
        eprintln!("openapi: rewrote {CHECKED_IN}");
        return;
    }
    let checked_in = std::fs::read(CHECKED_IN).unwrap_or_default();
    if checked_in != bytes {
        let served = String::from_utf8_lossy(&bytes);
        let file = String::from_utf8_lossy(&checked_in);
        let first = served
            .lines()
            .zip(file.lines())
            .position(|(a, b)| a != b)
            .map_or_else(
                || "one is a prefix of the other".to_owned(),
                |i| {
                    format!(
                        "first difference at line {}:\n  served: {}\n  file:   {}",
                        i + 1,
                        served.lines().nth(i).unwrap_or_default(),
                        file.lines().nth(i).unwrap_or_default()
                    )
                },
            );
        panic!(
            "docs/openapi.json differs from the served GET /openapi.json ({first}).\n\
             If the change to the API is intended, regenerate the file with\n\
             \n    {WRITE_SWITCH}=1 cargo test -p aliaskit-http --test it openapi\n\
             \nand commit it."
        );
    }
}

#[actix_web::test]
async fn openapi_is_3_1_and_names_its_security_schemes() {
    let (bytes, _) = served().await;
    let doc: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let schemes = &doc["components"]["securitySchemes"];
    for name in ["org_api_key", "access_token", "opencap_token"] {
        assert_eq!(schemes[name]["scheme"], "bearer", "{name}");
    }
    assert!(
        schemes["org_api_key"]["description"]
            .as_str()
            .unwrap()
            .contains("Authorization: <key>")
    );
    let retrieve = &doc["paths"]["/api/v1/alias/{id}"]["get"];
    let params: Vec<&str> = retrieve["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(params, ["id", "X-Alias-Passcode", "passcode"]);
    assert_eq!(retrieve["parameters"][1]["in"], "header");
    let unauthorized = &doc["components"]["responses"]["Unauthorized"]["headers"];
    assert_eq!(unauthorized["WWW-Authenticate"]["required"], true);
    let limited = &doc["components"]["responses"]["TooManyRequests"]["headers"];
    assert_eq!(limited["Retry-After"]["required"], true);
}

/// Every `$ref` names a component the document has (utoipa does not collect the schemas of
/// query parameters; a dangling one was found by schemathesis).
#[actix_web::test]
async fn openapi_every_reference_resolves() {
    fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(target)) = map.get("$ref") {
                    out.push(target);
                }
                map.values().for_each(|v| refs(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let (bytes, _) = served().await;
    let doc: Value = serde_json::from_slice(&bytes).unwrap();
    let mut targets = Vec::new();
    refs(&doc, &mut targets);
    assert!(targets.len() > 50, "{}", targets.len());
    for target in targets {
        let pointer = target.strip_prefix('#').unwrap();
        assert!(doc.pointer(pointer).is_some(), "dangling $ref {target}");
    }
}

/// Every documented path takes exactly the documented methods: any other method answers `405`
/// with an `Allow` header naming the documented ones.
#[actix_web::test]
async fn openapi_every_documented_path_takes_exactly_the_documented_methods() {
    let (bytes, _) = served().await;
    let doc: Value = serde_json::from_slice(&bytes).unwrap();
    let env = envs().into_iter().next().unwrap();
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 17, "{:?}", paths.keys());
    for (path, item) in paths {
        let mut documented: Vec<String> = item
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| ["get", "head", "put", "post", "delete", "patch"].contains(&k.as_str()))
            .map(|k| k.to_ascii_uppercase())
            .collect();
        documented.sort();
        let uri = path.replace("{id}", "abc").replace("{address_type}", "100");
        let answer = send(
            &env.api,
            TestRequest::default()
                .method(Method::PATCH)
                .uri(&uri)
                .insert_header(("Origin", "https://wallet.example")),
        )
        .await;
        assert_eq!(
            answer.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "PATCH {uri}: {:?}",
            answer.body
        );
        let mut allowed: Vec<String> = answer
            .header("allow")
            .unwrap()
            .split(',')
            .map(|m| m.trim().to_owned())
            .collect();
        allowed.sort();
        assert_eq!(allowed, documented, "{path}");
    }
}

/// The `Alias` schema names exactly the keys a real answer has, all required.
#[actix_web::test]
async fn openapi_the_alias_schema_has_the_keys_of_a_real_alias() {
    let (bytes, _) = served().await;
    let doc: Value = serde_json::from_slice(&bytes).unwrap();
    let schema = &doc["components"]["schemas"]["Alias"];
    let mut properties: Vec<&str> = schema["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    properties.sort_unstable();
    let mut required: Vec<&str> = schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    required.sort_unstable();
    assert_eq!(properties, required);
    for env in envs() {
        let alias = created(&env, create_body()).await;
        let mut keys: Vec<&str> = alias
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(keys, properties);
    }
    assert_eq!(
        schema["properties"]["passcode"]["type"],
        serde_json::json!(["string", "null"])
    );
    assert_eq!(schema["properties"]["expired_at"]["type"], "integer");
}
