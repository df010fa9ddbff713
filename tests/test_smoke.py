from datetime import date

from tests import factories


def test_refugee_status(client, db_session, mint):
    someone = factories.person(db_session, protections=[("refugee", date(2021, 3, 2), None)])
    partner = factories.partner(db_session, {"protection_status": False})
    db_session.commit()
    token = mint(partner.client_id, "protection_status")
    response = client.post("/v1/protection-status", headers={"Authorization": f"Bearer {token}"},
                           json={"ofpra_number": someone.ofpra_number,
                                 "recipient": factories.SIRET_TRANSPORT})
    assert response.status_code == 200, response.json
    assert response.json["protected"] is True
    assert response.json["protection"] == "refugee"
