"""The OpenAPI document is valid and says what the API does."""

from openapi_spec_validator import validate


def test_openapi_is_valid_and_complete(client):
    response = client.get("/openapi.json")
    assert response.status_code == 200
    spec = response.json
    validate(spec)
    paths = spec["paths"]
    for path, scope in (("/v1/protection-status", "protection_status"),
                        ("/v1/civil-status-progress", "civil_status_progress"),
                        ("/v1/civil-status", "civil_status")):
        operation = paths[path]["post"]
        assert operation["security"] == [{"oauth2": [scope]}]
        assert {"200", "401", "403", "404", "409", "422", "429", "503"} <= \
            set(operation["responses"])
        assert "requestBody" in operation and "parameters" not in operation
    lookup = spec["components"]["schemas"]["PersonLookup"]
    assert set(lookup["properties"]) == {"ofpra_number", "agdref_number", "birth_date",
                                         "birth_name", "given_names", "recipient"}
    record = spec["components"]["schemas"]["CivilStatusRecord"]
    assert "nationality" not in str(record) and "country_of_origin" not in str(spec)


def test_docs_page_lists_the_three_questions(client):
    response = client.get("/docs")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for path in ("/v1/protection-status", "/v1/civil-status-progress", "/v1/civil-status"):
        assert f"<code>{path}</code>" in page
    assert "<code>recipient</code>" in page and "consent_required" in page
    assert "<script" not in page


def test_every_response_carries_security_headers(client):
    response = client.get("/docs")
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"
    assert len(response.headers["X-Request-ID"]) == 36
