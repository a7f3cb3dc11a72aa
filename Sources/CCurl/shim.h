// libcurl's easy API (Debian libcurl4-openssl-dev; found through pkg-config), for SMTP and
// HTTPS delivery. curl_easy_setopt and curl_easy_getinfo are variadic, which Swift cannot
// call, so each argument type gets a typed wrapper here.
#include <curl/curl.h>

static inline CURLcode lockbox_curl_set_long(CURL *curl, CURLoption option, long value) {
    return curl_easy_setopt(curl, option, value);
}

static inline CURLcode lockbox_curl_set_string(CURL *curl, CURLoption option, const char *value) {
    return curl_easy_setopt(curl, option, value);
}

static inline CURLcode lockbox_curl_set_pointer(CURL *curl, CURLoption option, void *value) {
    return curl_easy_setopt(curl, option, value);
}

static inline CURLcode lockbox_curl_set_slist(CURL *curl, CURLoption option, struct curl_slist *value) {
    return curl_easy_setopt(curl, option, value);
}

static inline CURLcode lockbox_curl_set_offset(CURL *curl, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(curl, option, value);
}

typedef size_t (*lockbox_curl_data_callback)(char *buffer, size_t size, size_t count, void *userdata);

static inline CURLcode lockbox_curl_set_callback(CURL *curl, CURLoption option, lockbox_curl_data_callback value) {
    return curl_easy_setopt(curl, option, value);
}

static inline long lockbox_curl_response_code(CURL *curl) {
    long code = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
    return code;
}
