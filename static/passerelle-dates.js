/* Date pickers of Flask-Admin (bootstrap-daterangepicker on moment), configured rather
   than forked: dates typed and shown DD/MM/YYYY in forms and filters, French month and
   day names on French pages, weeks starting on Monday, and the picker's button labels
   in the page's language (window.PASSERELLE_DATEPICKER, written by layout.html). */
(function () {
  "use strict";
  if (typeof moment === "undefined") { return; }
  if (moment.locales && moment.locales().indexOf("fr") === -1) {
    moment.defineLocale("fr", {
      months: "janvier_février_mars_avril_mai_juin_juillet_août_septembre_octobre_novembre_décembre".split("_"),
      monthsShort: "janv._févr._mars_avr._mai_juin_juil._août_sept._oct._nov._déc.".split("_"),
      weekdays: "dimanche_lundi_mardi_mercredi_jeudi_vendredi_samedi".split("_"),
      weekdaysShort: "dim._lun._mar._mer._jeu._ven._sam.".split("_"),
      weekdaysMin: "di_lu_ma_me_je_ve_sa".split("_"),
      longDateFormat: {LT: "HH:mm", LTS: "HH:mm:ss", L: "DD/MM/YYYY", LL: "D MMMM YYYY",
                       LLL: "D MMMM YYYY HH:mm", LLLL: "dddd D MMMM YYYY HH:mm"},
      week: {dow: 1, doy: 4}
    });
  }
  var french = (document.documentElement.lang || "").toLowerCase().indexOf("fr") === 0;
  if (french) {
    moment.locale("fr");
  } else {
    moment.updateLocale(moment.locale(), {week: {dow: 1, doy: 4}});
  }
  var FORMATS = {datepicker: "DD/MM/YYYY", daterangepicker: "DD/MM/YYYY",
                 datetimepicker: "DD/MM/YYYY HH:mm", datetimerangepicker: "DD/MM/YYYY HH:mm"};
  /* The picker reads the input at every key and rewrites it as soon as a prefix parses
     ("1" becomes today's date in January), so a date cannot be typed: the calendar
     follows the input only once it holds a whole date, and the input is left as typed. */
  function typedStrictly($el) {
    var drp = $el.data("daterangepicker");
    if (!drp) { return; }
    $el.off("keyup.daterangepicker").on("keyup.daterangepicker", function () {
      var parts = drp.singleDatePicker ? [$el.val()] : $el.val().split(drp.separator);
      var dates = $.map(parts, function (part) { return moment($.trim(part), drp.format, true); });
      if (!dates.length || $.grep(dates, function (d) { return !d.isValid(); }).length) { return; }
      drp.startDate = dates[0];
      drp.endDate = dates[dates.length - 1];
      if (drp.endDate.isBefore(drp.startDate)) { return; }
      drp.updateView();
      drp.updateCalendars();
    });
  }
  $(function () {  /* registered before form.js's own ready handler: runs first */
    if ($.fn.daterangepicker) {
      var picker = $.fn.daterangepicker;
      $.fn.daterangepicker = function (options, callback) {
        var locale = $.extend({firstDay: 1, daysOfWeek: moment.weekdaysMin(), monthNames: moment.monthsShort()},
                              window.PASSERELLE_DATEPICKER || {});
        var settings = $.extend(true, {locale: locale}, options);
        if (locale.separator) { settings.locale.separator = locale.separator; }  /* " au " on French pages */
        var result = picker.call(this, settings, callback);
        this.each(function () { typedStrictly($(this)); });
        return result;
      };
    }
    if (window.faForm) {  /* filters.js sets an ISO format on date filters: typed DD/MM/YYYY instead */
      var applyStyle = window.faForm.applyStyle;
      window.faForm.applyStyle = function (el, name) {
        if (FORMATS[name]) { $(el).attr("data-date-format", FORMATS[name]); }
        return applyStyle.apply(this, arguments);
      };
    }
  });
})();
