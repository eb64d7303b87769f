"""Simplified Chinese: Django's defaults print counts without separators (3691, 1234567);
Chinese business documents and Excel group them by three with commas (3,691, 1,234,567), as
the amounts in 万 and 亿 already are. Every other format comes from Django's zh_Hans locale."""

THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
