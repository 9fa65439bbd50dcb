"""A customer as the chat widget is one, and an agent as the console is one: each talks to the
real API over HTTP."""

import uuid

import httpx

PASSWORD = "correct horse battery"  # for the agents that tests add


class Customer:
    def __init__(self, url: str, locale: str = "en"):
        self.http = httpx.Client(base_url=url, timeout=60)
        created = self.http.post("/api/conversations", json={"channel": "web", "locale": locale})
        assert created.status_code == 201
        self.id = created.json()["conversation_id"]
        self.token = created.json()["customer_token"]
        self.headers = {"Authorization": f"Bearer {self.token}"}

    def say(self, text: str, payload: str | None = None) -> dict:
        body = {"text": text, "client_message_id": str(uuid.uuid4()), "payload": payload}
        response = self.http.post(
            f"/api/conversations/{self.id}/messages", json=body, headers=self.headers
        )
        assert response.status_code == 200, response.text
        return response.json()

    def press(self, reply: dict, title: str) -> dict:
        [button] = [
            q for m in reply["messages"] for q in m.get("quick_replies", []) if q["title"] == title
        ]
        return self.say(button["title"], button["payload"])

    def history(self) -> list[dict]:
        response = self.http.get(f"/api/conversations/{self.id}/messages", headers=self.headers)
        assert response.status_code == 200, response.text
        return response.json()["messages"]


class Console:
    """An agent's browser session: cookie, CSRF header on every change."""

    def __init__(self, url: str, username: str):
        self.http = httpx.Client(base_url=url, timeout=10)
        response = self.http.post(
            "/api/auth/login", json={"username": username, "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        self.agent = response.json()["agent"]

    def post(self, path: str, body: dict | None = None) -> httpx.Response:
        headers = {"X-CSRF-Token": self.http.cookies["helpdesk_csrf"]}
        return self.http.post(path, json=body or {}, headers=headers)
