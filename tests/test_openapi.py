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
