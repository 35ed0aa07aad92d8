/* SPDX-License-Identifier: Apache-2.0 */
/* array.c: growable arrays: doubling capacity, overflow-checked. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "ft_err.h"

int
array_grow(void *pv, size_t *cap, size_t want, size_t size, size_t first,
	   size_t max)
{
	size_t n = *cap != 0 ? *cap : (first != 0 ? first : 1);
	void *v, *nv;

	if (want <= *cap)
		return FT_OK;
	if (size == 0)
		return FT_E_INVAL;
	if (max != 0 && want > max)
		return FT_E_TOOBIG;
	while (n < want) {
		if (n > SIZE_MAX / 2)
			return FT_E_NOMEM;
		n *= 2;
	}
	if (max != 0 && n > max)
		n = max;
	if (n > SIZE_MAX / size) /* refused here, not by the allocator */
		return FT_E_NOMEM;
	memcpy(&v, pv, sizeof(v));
	nv = reallocarray(v, n, size);
	if (nv == NULL)
		return FT_E_NOMEM;
	memcpy(pv, &nv, sizeof(nv));
	*cap = n;
	return FT_OK;
}
