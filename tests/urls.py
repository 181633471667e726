from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("kakaopay/", include("django_kakaopay.urls")),
    path("kakaopay/api/", include("django_kakaopay.api.urls")),
    path("shop/", include("example_project.shop.urls")),
]
