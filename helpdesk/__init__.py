"""The application shell: settings, the `helpdesk` command and the service supervisor."""
