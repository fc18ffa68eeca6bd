"""The LISEZMOI.txt of a right-of-access archive: what it holds and leaves out, in French."""

from __future__ import annotations

from datetime import datetime

from ticketing.config.schema import Commune
from ticketing.models import Citizen


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' if count > 1 else ''}"


def readme_text(commune: Commune, citizen: Citizen, moment: datetime, tickets: int,
                files: int, missing: int) -> str:
    """The notice of the archive, ``moment`` being the commune's local time of the export."""
    address = commune.address
    lost = (f"\nAttention : {missing} pièce(s) jointe(s) n'ont pas été retrouvée(s) sur "
            "le serveur ; elles sont signalées dans les fichiers demande.json concernés.\n"
            if missing else "")
    return f"""DROIT D'ACCÈS À VOS DONNÉES PERSONNELLES (RGPD, article 15)

Commune : {commune.name}
Export produit le {moment:%d/%m/%Y à %H:%M} (heure locale)
Personne concernée : {citizen.full_name}

Ce dossier contient les données que la commune détient sur vous dans son outil de suivi
des demandes des usagers :

- usager.json : vos coordonnées telles qu'enregistrées (prénom, nom, courriel, téléphone,
  adresse) et la date de création de votre fiche ;
- demandes/<numéro>/demande.json : chacune de vos demandes ({_plural(tickets, 'demande')}) :
  numéro, dates, canal (formulaire, courriel, courrier, téléphone, accueil), catégorie,
  service chargé de la demande, statut, objet, description, localisation, échéances,
  les échanges (vos messages et les réponses de la commune), la liste des courriels reçus
  de votre adresse et de ceux qui vous ont été envoyés ;
- demandes/<numéro>/pieces/ : les pièces jointes de ces échanges et, pour un courrier,
  un appel ou une visite enregistrés par la mairie, le récépissé qui vous a été remis
  ({_plural(files, 'fichier')}).
{lost}
Ne figurent pas dans cet export :
- les notes internes des agents et les projets de réponse non envoyés : ce sont des
  documents de travail préparatoires, que l'article L311-5 du code des relations entre
  le public et l'administration exclut de la communication ;
- les données d'autres personnes : leurs demandes, même regroupées avec les vôtres ou
  liées à elles, et les coordonnées de tiers ajoutés à un dossier.

Délai de réponse : la commune répond à une demande d'accès dans un délai d'un mois à
compter de sa réception (article 12.3 du RGPD). Ce délai peut être prolongé de deux mois
compte tenu de la complexité ou du nombre de demandes ; vous en êtes alors informé(e)
dans le premier mois.

Les fichiers .json sont des fichiers texte (UTF-8) lisibles avec un éditeur de texte ;
les dates y sont données à l'heure locale (format AAAA-MM-JJ).

Pour toute question ou pour faire rectifier vos données :
{commune.name}, {address.street}, {address.postcode} {address.city}
Courriel : {commune.email} — Téléphone : {commune.phone}
"""
