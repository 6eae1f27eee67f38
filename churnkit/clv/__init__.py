"""Customer lifetime value for non-contractual customers ("buy till you die").

:class:`BGNBD` and :class:`ParetoNBD` model purchases and whether a customer is still
alive from (frequency, recency, T); :class:`GammaGamma` models the spend per purchase;
:func:`customer_clv` turns both into a discounted value per customer; and
:func:`rfm_summary` builds the summary from a purchase log, using only purchases
strictly before a date (``as_of``).
"""

from churnkit.clv._btyd import BGNBD, ParetoNBD
from churnkit.clv._gamma_gamma import GammaGamma
from churnkit.clv._summary import rfm_summary
from churnkit.clv._value import customer_clv

__all__ = ["BGNBD", "GammaGamma", "ParetoNBD", "customer_clv", "rfm_summary"]
