"""Social post composition: newsroom's Composer against plain template rendering.

    .venv/bin/python bench/social_compose.py [--articles 1000] [--seed 7]

Composes the posts of varied French articles (short and long titles and summaries,
« guillemets », emoji, URLs in headlines, tags with accents) for three accounts, one per
platform, on this machine and in one process. It prints, per article (all three posts):

  (a) plain     the same three templates rendered with plain Jinja2, no rule at all
  (b) parsed    (a) and one twitter-text parse of the X text: the least any composer
                that checks X's 280 limit pays
  (c) newsroom  Composer.compose: hashtags, UTM links, platform lengths, shortening,
                LinkedIn escaping
  median and p95 of each in ms, c/a and c/b, and how many posts had to be shortened.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import jinja2
from twitter_text import parse_tweet

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from worker.articles import with_utm  # noqa: E402
from worker.settings import SOCIAL_TEMPLATES_DIR, SocialAccountConfig  # noqa: E402
from worker.social import Composer  # noqa: E402
from worker.store import Article  # noqa: E402

ACCOUNTS = {
    "fr_x": SocialAccountConfig(
        platform="twitter", post_at="now", fixed_hashtags=["LeQuotidien"], utm_campaign="auto"
    ),
    "fr_facebook": SocialAccountConfig(
        platform="facebook", post_at="now", page_id="1234567890", utm_campaign="auto"
    ),
    "fr_linkedin": SocialAccountConfig(
        platform="linkedin",
        post_at="now",
        author_urn="urn:li:organization:2414183",
        max_hashtags=3,
        utm_campaign="auto",
    ),
}
SUBJECTS = [
    "Budget 2027 : l’Assemblée adopte la première partie du texte",
    "Motion de censure : ce qu’il faut savoir avant le vote de mercredi 🗳️",
    "« Nous irons jusqu’au bout » : la Première ministre défend sa réforme",
    "Retraites : les syndicats appellent à une nouvelle journée de mobilisation 📣",
    "Municipales à Marseille : le second tour s’annonce serré (sondage)",
    "Europe : Bruxelles valide le plan de relance français 🇫🇷🇪🇺",
    "Énergie : le gouvernement prolonge le « bouclier tarifaire » jusqu’en 2027",
    "Sénat : le projet de loi sur l’immigration adopté après 40 heures de débats",
]
DETAILS = [
    "Décryptage en cinq questions.",
    "Les oppositions dénoncent un passage en force ; la majorité salue « un compromis ».",
    "Le texte, amendé à 312 reprises, repart en commission mixte paritaire.",
    "Voir aussi lequotidien.fr/dossiers/budget-2027 pour le détail des mesures.",
    "Le vote a eu lieu à 289 voix contre 251 (et 12 abstentions) dans la nuit 🌙.",
    "À lire : l’analyse de notre service politique, avec les chiffres clés 📊.",
]
TAGS = [
    "politique",
    "assemblée nationale",
    "budget",
    "élection présidentielle",
    "retraites",
    "Sénat",
    "union européenne",
    "énergie",
    "immigration",
    "Marseille",
    "2027",
]


def sample_articles(count: int, seed: int) -> list[Article]:
    """Realistic, varied articles: one in eight with a long headline (X has to shorten it)
    and one in twenty with a summary past LinkedIn's 3,000 characters."""
    rng = random.Random(seed)  # noqa: S311 - sample data, not secrets
    articles = []
    for n in range(count):
        title = rng.choice(SUBJECTS)
        if n % 8 == 0:
            title += " " + " ".join(rng.choices(DETAILS, k=rng.randint(3, 6)))
        sentences = rng.randint(60, 90) if n % 20 == 0 else rng.randint(1, 4)
        articles.append(
            Article(
                url=f"https://www.lequotidien.fr/politique/2026/11/{n % 28 + 1}/article-{n}",
                title=title,
                summary=" ".join(rng.choices(DETAILS, k=sentences)),
                tags=rng.sample(TAGS, k=rng.randint(0, 5)),
            )
        )
    return articles


def plain_renderer() -> Callable[[Article], list[str]]:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(SOCIAL_TEMPLATES_DIR),
        autoescape=False,  # noqa: S701 - plain text, as newsroom renders it
        trim_blocks=True,
        lstrip_blocks=True,
    )
    templates = {name: env.get_template(f"{c.template_name}.txt") for name, c in ACCOUNTS.items()}

    def render(article: Article) -> list[str]:
        return [
            template.render(
                article=article,
                link=with_utm(
                    article.url, source=ACCOUNTS[name].platform, medium="social", campaign="auto"
                ),
                hashtags=[f"#{tag}" for tag in article.tags],
                platform=ACCOUNTS[name].platform,
                account=name,
            )
            for name, template in templates.items()
        ]

    return render


def per_article_ms(articles: list[Article], work: Callable[[Article], object]) -> list[float]:
    times = []
    for article in articles:
        start = time.perf_counter()
        work(article)
        times.append((time.perf_counter() - start) * 1000)
    return times


def p95(times: list[float]) -> float:
    return statistics.quantiles(times, n=20)[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    articles = sample_articles(args.articles, args.seed)
    composer = Composer()
    render = plain_renderer()

    def compose(article: Article) -> list[str]:
        return [composer.compose(article, name, c).text for name, c in ACCOUNTS.items()]

    def parsed(article: Article) -> None:
        parse_tweet(render(article)[0])

    others = sample_articles(50, args.seed + 1)  # not the measured ones: X lengths are cached
    for work in (render, parsed, compose):  # warm up templates and regex engines
        per_article_ms(others, work)
    plain = per_article_ms(articles, render)
    checked = per_article_ms(articles, parsed)
    newsroom = per_article_ms(articles, compose)

    shortened = 0
    for article in articles:
        for text, rendered in zip(compose(article), render(article), strict=True):
            shortened += "…" in text and "…" not in rendered
    print(f"{len(articles)} articles, 3 posts each (X, Facebook, LinkedIn); {shortened} shortened")
    print("per article            median      p95")
    for label, times in [
        ("(a) plain Jinja2", plain),
        ("(b) + parse_tweet", checked),
        ("(c) newsroom", newsroom),
    ]:
        print(f"{label:20} {statistics.median(times):8.3f} ms {p95(times):8.3f} ms")
    print(f"c/a = {statistics.median(newsroom) / statistics.median(plain):.1f} (median)")
    print(f"c/b = {statistics.median(newsroom) / statistics.median(checked):.1f} (median)")
    print(f"median {statistics.median(newsroom):.2f} ms per article  (target < 5 ms)")


if __name__ == "__main__":
    main()
