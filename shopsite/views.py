from django.shortcuts import render

from shopsite.models import Product


def home(request):
    return render(request, "shopsite/home.html", {"products": Product.objects.filter(active=True)})
