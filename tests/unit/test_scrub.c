/* test_scrub.c: command lines of Linux and Windows programs lose their
 * secrets and keep everything else. */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "probe/pc_scrub.h"

static void
check(const char *in, const char *want, const pc_scrub *s)
{
	char *out = pc_scrub_cmdline(in, s);

	assert_non_null(out);
	assert_string_equal(out, want);
	free(out);
}

static void
test_linux_forms(void **state)
{
	(void)state;
	check("mysql -u root --password=hunter2 shop", "mysql -u root --password=******** shop",
	      NULL);
	check("app --token abc123 --verbose", "app --token ******** --verbose", NULL);
	check("app -passwd x", "app -passwd ********", NULL);
	check("env API_KEY=xyz run", "env API_KEY=******** run", NULL);
	check("client --db-password='a b c' --port 5432",
	      "client --db-password=******** --port 5432", NULL);
	check("svc --client-secret=s3 --secret-file /etc/s",
	      "svc --client-secret=******** --secret-file ********", NULL);
	check("ls -la /tmp", "ls -la /tmp", NULL);
	check("", "", NULL);
	check("tokenizer --input file.txt", "tokenizer --input file.txt", NULL);
}

static void
test_windows_forms(void **state)
{
	(void)state;
	check("tool.exe /password:hunter2 /user:bob", "tool.exe /password:******** /user:bob",
	      NULL);
	check("\"C:\\Program Files\\App\\app.exe\" -Secret \"my secret\" -Verbose",
	      "\"C:\\Program Files\\App\\app.exe\" -Secret ******** -Verbose", NULL);
	check("sqlcmd -S srv -U sa -P x /ApiKey:k1", "sqlcmd -S srv -U sa -P x /ApiKey:********",
	      NULL);
}

static void
test_configured_words_and_off(void **state)
{
	const char *const words[] = { "pin" };
	pc_scrub          extra   = { .extra = words, .n_extra = 1 };
	pc_scrub          off     = { .off = true };

	(void)state;
	check("atm --pin=1234 --password=x", "atm --pin=******** --password=********", &extra);
	check("atm --pin=1234", "atm --pin=1234", NULL);
	check("app --password=x", "app --password=x", &off);
}

static void
check_cut(const char *in, size_t max, const char *want, bool want_cut)
{
	bool  cut = false;
	char *out = pc_scrub_cut(in, NULL, max, &cut);

	assert_non_null(out);
	assert_string_equal(out, want);
	assert_int_equal(cut, want_cut);
	free(out);
}

/* Scrubbed first, then cut: a limit inside a secret keeps none of it, and
 * a cut never splits a UTF-8 character. */
static void
test_scrub_then_cut(void **state)
{
	(void)state;
	check_cut("app --password=hunter2 -v", 18, "app --password=***", true);
	check_cut("app --token hunter2", 14, "app --token **", true);
	check_cut("app -v", 6, "app -v", false);
	check_cut("app -v", 0, "app -v", false);    /* 0: the default limit */
	check_cut("caf\xc3\xa9 x", 4, "caf", true); /* not "caf\xc3" */
	check_cut("caf\xc3\xa9 x", 5, "caf\xc3\xa9", true);
	check_cut("\xe2\x82\xac\xe2\x82\xac", 5, "\xe2\x82\xac", true);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_linux_forms),
		cmocka_unit_test(test_windows_forms),
		cmocka_unit_test(test_configured_words_and_off),
		cmocka_unit_test(test_scrub_then_cut),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
