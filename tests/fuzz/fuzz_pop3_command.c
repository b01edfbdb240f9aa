/* fuzz_pop3_command.c: POP3 command lines from arbitrary bytes in arbitrary
 * pieces (first byte = piece size). */
#include "postier.h"

#include <stdint.h>
#include <stdlib.h>

#include "proto/pop3_command.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t step = data[0] == 0 ? size : data[0];
	data++;
	size--;
	struct pop3_parser *p = pop3_parser_new(256);
	struct pop3_command cmd;
	pop3_command_init(&cmd);
	size_t pos = 0;
	while (pos < size) {
		size_t n = size - pos < step ? size - pos : step, used;
		const char *error;
		int ret = pop3_parser_parse(p, data + pos, n, &used, &cmd,
			&error);
		pos += used;
		if (ret == 1) {
			uint32_t num;
			for (unsigned int i = 0; i < cmd.n_args; i++)
				(void)pop3_parse_number(cmd.args[i], &num);
		} else if (ret == 0 && used == 0 && n > 0) {
			abort();
		}
	}
	pop3_command_clear(&cmd);
	pop3_parser_free(&p);
	return 0;
}
