from __future__ import annotations

from django.urls import path

from shop import views

urlpatterns = [
    path("", views.home),
    path("login", views.login),
    path("orders", views.place_order),
    path("boom", views.boom),
]
