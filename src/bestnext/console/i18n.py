"""Italian and English labels of the console (the demo bank is Italian).

The language comes from ``?lang=`` (remembered in a cookie), else the cookie, else Italian.
"""

from __future__ import annotations

from collections.abc import Callable

LANGS = ("it", "en")
DEFAULT_LANG = "it"
LANG_COOKIE = "bn_lang"

# key: (Italian, English)
_LABELS: dict[str, tuple[str, str]] = {
    "app": ("bestnext console", "bestnext console"),
    "skip": ("Vai al contenuto", "Skip to content"),
    "login": ("Accedi", "Log in"),
    "logout": ("Esci", "Log out"),
    "username": ("Nome utente", "Username"),
    "password": ("Password", "Password"),
    "login_failed": ("Nome utente o password non validi.", "Wrong username or password."),
    "logged_in_as": ("Utente", "Signed in as"),
    "role": ("Ruolo", "Role"),
    "home": ("Inizio", "Home"),
    "search": ("Ricerca clienti", "Customer search"),
    "search_hint": ("Nome, email, telefono, numero cliente o altro identificativo",
                    "Name, email, phone, customer number or any identifier"),
    "search_button": ("Cerca", "Search"),
    "no_results": ("Nessun risultato.", "No results."),
    "queue": ("Coda call center", "Call-center queue"),
    "branch": ("Filiale", "Branch"),
    "journeys": ("Percorsi", "Journeys"),
    "catalog": ("Catalogo", "Catalog"),
    "dashboards": ("Cruscotti", "Dashboards"),
    "privacy": ("Privacy", "Privacy center"),
    "users": ("Utenti", "Users"),
    "name": ("Nome", "Name"),
    "disabled": ("Disattivato", "Disabled"),
    "active": ("Attivo", "Active"),
    "disable": ("Disattiva", "Disable"),
    "new_user": ("Nuovo utente", "New user"),
    "steps": ("Passi", "Steps"),
    "open_tasks": ("Chiamate da fare", "Calls to make"),
    "mine": ("mie", "mine"),
    "expected_visits": ("Visite attese in filiale", "Expected branch visits"),
    "erase_help": ("La cancellazione è definitiva: restano solo impronte (hash) che impediscono di reimportare i dati. "
                   "Per confermare, scrivi il codice della persona.",
                   "Erasure is final: only hashes remain, so that the data cannot come back. "
                   "To confirm, type the person's code."),
    "revoke": ("Revoca", "Withdraw"),
    "grant": ("Concedi", "Grant"),
    "merges": ("Unioni di profili", "Merges"),
    "undone": ("annullata", "undone"),
    "call_back": ("Richiamare il", "Call back at"),
    "control_group": ("Gruppo di controllo: nessuna azione proposta", "Control group: no action proposed"),
    "entry": ("Ingresso", "Entry"),
    "active_now": ("Attivi", "Active"),
    "ended": ("Conclusi", "Ended"),
    "file": ("File", "File"),
    "description": ("Descrizione", "Description"),
    "budget": ("Budget", "Budget"),
    "valid_days": ("Giorni di validità", "Valid days"),
    "conditions": ("Condizioni", "Conditions"),
    "rules": ("Regole", "Rules"),
    "language": ("Lingua", "Language"),
    "welcome": ("Benvenuto", "Welcome"),
    "your_screens": ("Le tue schermate", "Your screens"),
    "error": ("Errore", "Error"),
    "back": ("Indietro", "Back"),
    "not_available": ("Non ancora disponibile: il servizio non è installato.",
                      "Not available yet: the service is not installed."),
    "person": ("Cliente", "Customer"),
    "identities": ("Identificativi", "Identities"),
    "identity_type": ("Tipo", "Type"),
    "identity_value": ("Valore", "Value"),
    "linked_by": ("Collegato da", "Linked by"),
    "unmerge": ("Separa", "Un-merge"),
    "traits": ("Attributi", "Traits"),
    "trait": ("Attributo", "Trait"),
    "value": ("Valore", "Value"),
    "source": ("Fonte", "Source"),
    "when": ("Quando", "When"),
    "lifecycle": ("Ciclo di vita", "Lifecycle"),
    "household": ("Nucleo familiare", "Household"),
    "holdings": ("Prodotti posseduti", "Holdings"),
    "interests": ("Interessi", "Interests"),
    "consents": ("Consensi", "Consents"),
    "purpose": ("Finalità", "Purpose"),
    "granted": ("Concesso", "Granted"),
    "refused": ("Negato", "Refused"),
    "history": ("Storico", "History"),
    "cases_tasks": ("Pratiche e attività aperte", "Open cases and tasks"),
    "timeline": ("Cronologia", "Timeline"),
    "filter": ("Filtra", "Filter"),
    "all": ("Tutti", "All"),
    "touchpoint": ("Punto di contatto", "Touchpoint"),
    "event": ("Evento", "Event"),
    "details": ("Dettagli", "Details"),
    "nba": ("Prossime azioni consigliate", "Next best actions"),
    "score": ("Punteggio", "Score"),
    "explanation": ("Spiegazione", "Explanation"),
    "accept": ("Accetta", "Accept"),
    "decline": ("Rifiuta", "Decline"),
    "not_now": ("Non ora", "Not now"),
    "recorded": ("Esito registrato.", "Outcome recorded."),
    "channel": ("Canale", "Channel"),
    "product": ("Prodotto", "Product"),
    "offer": ("Offerta", "Offer"),
    "action": ("Azione", "Action"),
    "due": ("Scadenza", "Due"),
    "overdue": ("in ritardo", "overdue"),
    "priority": ("Priorità", "Priority"),
    "claim": ("Prendi in carico", "Claim"),
    "claimed_by": ("In carico a", "Claimed by"),
    "script": ("Traccia", "Script"),
    "outcome": ("Esito", "Outcome"),
    "save": ("Salva", "Save"),
    "note": ("Nota", "Note"),
    "open": ("Apri", "Open"),
    "status": ("Stato", "Status"),
    "pause": ("Sospendi", "Pause"),
    "resume": ("Riprendi", "Resume"),
    "validate": ("Valida", "Validate"),
    "valid": ("Valido", "Valid"),
    "export_csv": ("Esporta CSV", "Export CSV"),
    "export_parquet": ("Esporta log eventi (Parquet)", "Export event log (Parquet)"),
    "erase": ("Cancella", "Erase"),
    "export": ("Esporta", "Export"),
    "confirm": ("Conferma", "Confirm"),
    "audit": ("Registro accessi", "Audit log"),
    "journeys_of_person": ("Percorsi del cliente", "Journeys of the person"),
    "paused": ("Sospeso", "Paused"), "running": ("In corso", "Running"), "state": ("Stato", "State"),
    "person_ref": ("Cliente (TIPO:VALORE o id)", "Person (TYPE:VALUE or id)"), "show": ("Mostra", "Show"),
    "activate": ("Attiva", "Activate"), "catalog_versions": ("Versioni del catalogo", "Catalog versions"),
    "none": ("Nessuno", "None"),
    "appointments": ("Appuntamenti e schede di oggi", "Today's appointments and briefings"),
    "advisor": ("Consulente", "Advisor"),
    "tables": ("Tabelle", "Tables"),
    "lifecycle_funnel": ("Funnel del ciclo di vita", "Lifecycle funnel"),
    "contact_pressure": ("Pressione di contatto", "Contact pressure"),
    "outbox_health": ("Stato della coda in uscita", "Outbox health"),
    "tbl_funnel": ("Funnel del ciclo di vita (Lead → Prospect → Cliente)", "Lifecycle funnel (Lead → Prospect → Customer)"),
    "tbl_cohorts": ("Conversione per mese di primo contatto", "Conversion by month of first contact"),
    "tbl_pressure_channel": ("Pressione di contatto per canale", "Contact pressure per channel"),
    "tbl_pressure_person": ("Contatti di marketing per persona (picco nella finestra)",
                            "Marketing contacts per person (peak in the window)"),
    "tbl_case_sla": ("SLA delle pratiche di servizio", "SLA of service cases"),
    "tbl_requests": ("Richieste in scadenza entro 24 ore (SLA)", "Requests due within 24 hours (SLA)"),
    "tbl_models": ("Prestazioni dei modelli (risposte, AUC, calibrazione)", "Model performance (responses, AUC, calibration)"),
    "tbl_uplift": ("Uplift rispetto al gruppo di controllo", "Control-group uplift"),
    "tbl_outbox": ("Stato della coda in uscita", "Outbox health"),
}


def translator(lang: str) -> Callable[[str], str]:
    """A function from label key to the label in ``lang`` (the key itself when unknown).

    >>> translator("en")("logout"), translator("it")("logout"), translator("it")("zzz")
    ('Log out', 'Esci', 'zzz')
    """
    index = 1 if lang == "en" else 0

    def t(key: str) -> str:
        pair = _LABELS.get(key)
        return pair[index] if pair else key

    return t


def choose_lang(query: str | None, cookie: str | None) -> str:
    """The language of a request.

    >>> choose_lang("en", "it"), choose_lang(None, "en"), choose_lang("xx", None)
    ('en', 'en', 'it')
    """
    for candidate in (query, cookie):
        if candidate in LANGS:
            return candidate
    return DEFAULT_LANG
