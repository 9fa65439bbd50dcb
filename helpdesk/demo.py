"""What a first ``make run`` starts with besides the demo knowledge base: accounts to sign in
with, and a few canned responses to show how they work."""

import secrets

from escalation import Role, SqlAgents, SqlCasework
from helpdesk.settings import Settings

DEMO_ACCOUNTS = [("agent", Role.AGENT, "Anna"), ("manager", Role.MANAGER, "Mark")]
DEMO_CANNED = [
    ("Greeting", "en", "Hello {customer_name}, this is {agent_name} from {company}. "
     "I've read the whole conversation; give me a moment to check."),
    ("Приветствие", "ru", "Здравствуйте, {customer_name}! Меня зовут {agent_name}, я из "
     "{company}. Я прочитал(а) всю переписку — минуту, проверю."),
    ("Anything else?", "en", "Is there anything else I can help you with?"),
    ("Что-то ещё?", "ru", "Могу ли я помочь чем-то ещё?"),
]  # fmt: skip


def create_demo_accounts(agents: SqlAgents, settings: Settings) -> list[tuple[str, str, str]]:
    """On an empty database only: the accounts made, as (username, role, password)."""
    if agents.count():
        return []
    created = []
    for username, role, name in DEMO_ACCOUNTS:
        password = secrets.token_urlsafe(9)
        agent = agents.add(username, password, role, display_name=name)
        agents.audit(None, "user_added", username, role=role.value, by="first start")
        created.append((agent.username, role.value, password))
    casework = SqlCasework(agents.database)
    for title, language, text in DEMO_CANNED:
        casework.save_canned(agent.id, title, language, text)
    return created
