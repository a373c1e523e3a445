# The shop's image: one image for the Procfile's three processes (web, worker, beat); the command
# picks which (docker-compose.yml). Settings come from the environment (deploy/production.env.example).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# The processes run as this user, never as root.
RUN useradd --system --create-home --uid 10001 shop

WORKDIR /app

# Requirements first: this layer is rebuilt only when requirements.txt changes, not with the code.
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .

# The static files, collected and compressed under hashed names, into a folder the user owns (the
# web process collects again at start, as the Procfile says: the same files, rewritten).
RUN install -d -o shop /app/staticfiles
USER shop
RUN SECRET_KEY=collectstatic-only-not-secret python manage.py collectstatic --noinput --verbosity 0

EXPOSE 8000
CMD ["sh", "-c", "python manage.py collectstatic --noinput --verbosity 0 && exec gunicorn --config gunicorn.conf.py shopsite.wsgi"]
