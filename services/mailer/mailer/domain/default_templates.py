"""The French default template set, one per status of the default pipeline (leads'
``DEFAULT_PIPELINE``): a network starts with these and its admin edits them at will.

Each ends with the distributor's signature and the personal unsubscribe link; every email
to a lead carries that link anyway (``lead_mail.build``), these just say it in their words.
"""
from __future__ import annotations

from dataclasses import dataclass

LOCALE = "fr"

SIGNATURE = ("\n\nBien cordialement,\n{{ user.first_name }} {{ user.last_name }}\n"
             "{{ user.email }}{% if user.phone %} - {{ user.phone }}{% endif %}\n"
             "{{ network.name }}\n\n"
             "Vous ne souhaitez plus recevoir mes messages ? {{ unsubscribe_url }}\n")


@dataclass(frozen=True)
class DefaultTemplate:
    status: str
    name: str
    subject: str
    body: str

    @property
    def body_text(self) -> str:
        return self.body + SIGNATURE


DEFAULTS: tuple[DefaultTemplate, ...] = (
    DefaultTemplate(
        "new", "Premier contact",
        "{{ lead.first_name }}, suite à votre demande d'information",
        "Bonjour {{ lead.first_name }},\n\n"
        "Vous avez demandé à être recontacté(e) et je vous en remercie. Je m'appelle "
        "{{ user.first_name }} et je serai votre interlocuteur. Je vous appellerai très "
        "prochainement ; vous pouvez aussi me répondre directement par e-mail pour me dire "
        "quand vous êtes disponible."),
    DefaultTemplate(
        "contacted", "Après notre échange",
        "Suite à notre échange, {{ lead.first_name }}",
        "Bonjour {{ lead.first_name }},\n\n"
        "Merci pour le temps que vous m'avez accordé. Comme convenu, je reste à votre "
        "disposition pour toute question et vous propose que nous nous rencontrions pour en "
        "parler plus en détail."),
    DefaultTemplate(
        "meeting", "Rendez-vous",
        "Notre rendez-vous, {{ lead.first_name }}",
        "Bonjour {{ lead.first_name }},\n\n"
        "Je vous confirme notre rendez-vous et me réjouis de vous rencontrer"
        "{% if lead.city %} à {{ lead.city }}{% endif %}. En cas d'empêchement, il vous "
        "suffit de répondre à ce message."),
    DefaultTemplate(
        "client", "Bienvenue parmi nos clients",
        "Merci pour votre confiance, {{ lead.first_name }}",
        "Bonjour {{ lead.first_name }},\n\n"
        "Merci pour votre confiance. Je reste votre contact pour le suivi de votre commande "
        "et pour tous vos conseils."),
    DefaultTemplate(
        "distributor", "Bienvenue dans l'équipe",
        "Bienvenue dans l'équipe {{ network.name }}, {{ lead.first_name }}",
        "Bonjour {{ lead.first_name }},\n\n"
        "Je suis ravi(e) de vous accueillir dans l'équipe. Je vous accompagnerai pour vos "
        "premiers pas : je vous appelle très vite pour organiser votre démarrage."),
    DefaultTemplate(
        "not_interested", "Merci pour votre temps",
        "Merci pour votre temps, {{ lead.first_name }}",
        "Bonjour {{ lead.first_name }},\n\n"
        "Merci d'avoir pris le temps de me répondre. Je respecte votre choix ; si vous "
        "changez d'avis, il vous suffit de répondre à ce message."),
)
